"""When to retry an outside call, and how long to wait first.

A small loop in client.py applies this policy instead of tenacity or stamina: the decision
needs the response (status, Retry-After) and the method, the wait may come from the server,
and the attempt count feeds the span and the stats; that is clearer as plain code than as
callbacks, and it adds no dependency.
"""

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 10.0
MAX_RETRY_AFTER_SECONDS = 120.0  # a server asking for a longer pause gets its answer back


def retryable_status(method: str, status: int, *, keyed: bool = False) -> bool:
    """429 and 503 (not processed) always; other 5xx only for idempotent methods, or requests
    with an Idempotency-Key (`keyed`: the server applies a repeated key once)."""
    if status in (429, 503):
        return True
    return status >= 500 and (keyed or method in IDEMPOTENT)


def retryable_error(method: str, error: httpx.TransportError, *, keyed: bool = False) -> bool:
    """Errors before the request left (connect, pool) always; others if idempotent or keyed."""
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return keyed or method in IDEMPOTENT


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a 429 or 503 asks for in Retry-After (seconds or HTTP date), if any."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Exponential backoff with equal jitter after the given (1-based) failed attempt."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
