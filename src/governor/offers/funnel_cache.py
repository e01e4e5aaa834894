"""The funnel of a period reused for funnel_cache_seconds: a million sessions are aggregated
once per window, not once per page view."""

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from governor.config import Settings
from governor.offers.friction import Cohort, Funnel, funnel

_lock = threading.Lock()
_cache: dict[tuple[str, ...], tuple[float, Funnel]] = {}
MAX_ENTRIES = 64
"""Distinct periods kept at once; the oldest goes first."""


def cached_funnel(
    session: Session,
    settings: Settings,
    *,
    key: str,
    start: datetime,
    end: datetime,
    now: datetime,
    offer_id: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Funnel:
    """The funnel of the cohort of [start, end) as of `now`, or the one computed for the same
    `key` (the period as asked, e.g. "30d") less than funnel_cache_seconds ago."""
    cohort = Cohort.of(start, end, now, settings.funnel_window_days)
    ttl = settings.funnel_cache_seconds
    name = (str(session.get_bind().engine.url), key, str(cohort.window_days), offer_id or "")
    with _lock:  # one computation at a time: the others wait for its answer
        hit = _cache.get(name)
        if hit is not None and clock() - hit[0] < ttl:
            return hit[1]
        made = funnel(session, cohort, now, peak_offers=settings.funnel_peak_offers,
                      offer_id=offer_id)  # fmt: skip
        if ttl > 0:
            if len(_cache) >= MAX_ENTRIES:
                _cache.pop(min(_cache, key=lambda k: _cache[k][0]))
            _cache[name] = (clock(), made)
        return made


def clear() -> None:
    """Forget every cached funnel (after the data changed under a test or a demo)."""
    with _lock:
        _cache.clear()
