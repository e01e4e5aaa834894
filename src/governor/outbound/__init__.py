"""The one HTTP client for calls to outside services: shared rate limits, retries, breakers."""

from governor.outbound.breaker import CircuitOpen
from governor.outbound.client import OutboundClient, close, default_client, get, post, request
from governor.outbound.limits import Limit, parse_limits
from governor.outbound.stats import HostStats, reset_stats, stats, tallied

__all__ = [
    "CircuitOpen",
    "HostStats",
    "Limit",
    "OutboundClient",
    "close",
    "default_client",
    "get",
    "parse_limits",
    "post",
    "request",
    "reset_stats",
    "stats",
    "tallied",
]
