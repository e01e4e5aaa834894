"""In-process counters per host (calls, 429s, retries, breaker opens) for later audits."""

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass
class HostStats:
    """What this process has done with one host since it started (or since reset_stats)."""

    calls: int = 0
    attempts: int = 0
    responses_429: int = 0
    failures: int = 0
    retries: int = 0
    breaker_opens: int = 0
    rejected_by_breaker: int = 0
    throttled_ms: float = 0.0


_lock = threading.Lock()
_stats: defaultdict[str, HostStats] = defaultdict(HostStats)
_tally: ContextVar[HostStats | None] = ContextVar("outbound_tally", default=None)


def count(host: str, **increments: float) -> None:
    """Add the increments (field=amount) to the host's counters (and to the open tally)."""
    tally = _tally.get()
    with _lock:
        for item in (_stats[host], tally) if tally is not None else (_stats[host],):
            for field, amount in increments.items():
                setattr(item, field, getattr(item, field) + amount)


@contextmanager
def tallied() -> Iterator[HostStats]:
    """Count what the calls made inside the block do (all hosts), e.g. the 429s of one step."""
    tally = HostStats()
    token = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(token)


def stats() -> dict[str, HostStats]:
    """A copy of the counters per host."""
    with _lock:
        return {host: replace(item) for host, item in _stats.items()}


def reset_stats() -> None:
    """Forget all counters."""
    with _lock:
        _stats.clear()
