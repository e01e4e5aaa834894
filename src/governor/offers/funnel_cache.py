"""The funnel of a period reused for funnel_cache_seconds: a million sessions are aggregated
once per window, not once per page view. Past the window, the last figures are still served
while one thread computes the new ones, so only the very first request of a period waits."""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.models.types import utcnow
from governor.offers.friction import Cohort, Funnel, funnel
from governor.storage.db import session_scope

log = logging.getLogger(__name__)

MAX_ENTRIES = 64
"""Distinct periods kept at once; the oldest goes first."""

Key = tuple[str, ...]
_lock = threading.Lock()
_cache: dict[Key, tuple[float, Funnel]] = {}
_refreshing: set[Key] = set()
_first: dict[Key, threading.Lock] = {}


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
    `key` (the period as asked, e.g. "30d"): fresh for funnel_cache_seconds, then served while
    a background thread computes it again."""
    ttl = settings.funnel_cache_seconds
    window, peaks = settings.funnel_window_days, settings.funnel_peak_offers

    def compute(within: Session, at: datetime) -> Funnel:
        cohort = Cohort.of(start - (now - at), end - (now - at), at, window)
        return funnel(within, cohort, at, peak_offers=peaks, offer_id=offer_id)

    if ttl <= 0:
        return compute(session, now)
    bind = session.get_bind()
    name = (str(bind.engine.url), key, str(window), str(peaks), offer_id or "")
    with _lock:
        hit = _cache.get(name)
        if hit is not None:
            if clock() - hit[0] >= ttl and name not in _refreshing:
                _refreshing.add(name)
                threading.Thread(target=_refresh, args=(name, bind.engine, compute, clock),
                                 daemon=True, name="funnel-refresh").start()  # fmt: skip
            return hit[1]
        first = _first.setdefault(name, threading.Lock())
    with first:  # the first requests of a period wait for one computation, not one each
        with _lock:
            hit = _cache.get(name)
        if hit is not None:
            return hit[1]
        made = compute(session, now)
        _store(name, clock(), made)
        return made


def _refresh(
    name: Key, engine: Engine, compute: Callable[[Session, datetime], Funnel],
    clock: Callable[[], float],
) -> None:  # fmt: skip
    try:
        with session_scope(engine, readonly=True) as session:
            _store(name, clock(), compute(session, utcnow()))
    except Exception:  # the stale figures stay; the next request past the window tries again
        log.exception("refreshing the funnel's figures failed")
    finally:
        with _lock:
            _refreshing.discard(name)


def _store(name: Key, at: float, made: Funnel) -> None:
    with _lock:
        if name not in _cache and len(_cache) >= MAX_ENTRIES:
            oldest = min(_cache, key=lambda k: _cache[k][0])
            del _cache[oldest]
            _first.pop(oldest, None)
        _cache[name] = (at, made)


def clear() -> None:
    """Forget every cached funnel."""
    with _lock:
        _cache.clear()
        _first.clear()
