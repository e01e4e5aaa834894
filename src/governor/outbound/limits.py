"""Parse GOVERNOR_OUTBOUND_LIMITS ('host=N/s,host2=M/m') into per-host rates."""

import re
from dataclasses import dataclass

from pyrate_limiter import Duration, Rate

from governor.errors import ConfigError

_UNITS = {"s": Duration.SECOND, "m": Duration.MINUTE, "h": Duration.HOUR}
DEFAULT_MARGIN = 0.1
"""Each window is this much longer than the limit's unit (GOVERNOR_OUTBOUND_LIMIT_MARGIN): calls
leave on time but arrive with some jitter, and a provider counting arrivals must never see more
than the limit. A provider that answers 429 with Retry-After can take a smaller one."""
_ENTRY = re.compile(r"^(?P<count>[0-9]+)\s*/\s*(?P<unit>[smh])$")
_HINT = "Write GOVERNOR_OUTBOUND_LIMITS as 'host=N/s,host2=M/m', e.g. 'api.example.com=10/s'."


@dataclass(frozen=True)
class Limit:
    """At most `count` calls to one host per `unit` (s, m or h)."""

    count: int
    unit: str
    margin: float = DEFAULT_MARGIN

    def rate(self) -> Rate:
        """This limit as a pyrate-limiter Rate, with the safety margin on its window."""
        return Rate(self.count, int(_UNITS[self.unit] * (1 + self.margin)))

    def __str__(self) -> str:
        return f"{self.count}/{self.unit}"


def parse_limits(text: str, margin: float = DEFAULT_MARGIN) -> dict[str, Limit]:
    """Parse 'host=N/s,host2=M/m' into {host: Limit} (each window `margin` longer than its
    unit); raise ConfigError naming the bad entry."""
    limits: dict[str, Limit] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        host, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or not host:
            raise ConfigError(
                f"GOVERNOR_OUTBOUND_LIMITS: '{entry}' is not host=N/s, host=N/m or host=N/h.",
                hint=_HINT,
            )
        if any(char in host for char in "/:@ ") or host != host.strip("."):
            raise ConfigError(
                f"GOVERNOR_OUTBOUND_LIMITS: '{host}' in '{entry}' is not a host name "
                "(no scheme, port or path).",
                hint=_HINT,
            )
        match = _ENTRY.match(value)
        if match is None:
            raise ConfigError(
                f"GOVERNOR_OUTBOUND_LIMITS: '{entry}' is not N/s, N/m or N/h.", hint=_HINT
            )
        count = int(match["count"])
        if count < 1:
            raise ConfigError(
                f"GOVERNOR_OUTBOUND_LIMITS: '{entry}' allows no calls at all; N must be 1 or more.",
                hint="Remove the host's entry to leave it unlimited, or give a positive N.",
            )
        key = host.lower()
        if key in limits:
            raise ConfigError(
                f"GOVERNOR_OUTBOUND_LIMITS: '{host}' is given twice.",
                hint="Keep one limit per host.",
            )
        limits[key] = Limit(count, match["unit"], margin)
    return limits
