"""Block until a host's shared rate limit gives a token; unlimited hosts pass at once."""

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import cast

from pyrate_limiter import AbstractBucket, RateItem, SingleBucketFactory

from governor.outbound.buckets import BucketStore
from governor.outbound.limits import Limit

# Extra pause after the wait the bucket names, so the retry finds the slot free.
BUFFER_SECONDS = 0.005


class Throttle:
    """One pyrate-limiter bucket per limited host, made on first use in the shared store.

    Each bucket's put() is atomic across processes by itself (a file lock for SQLite, a table
    lock for PostgreSQL, a Lua script for Redis). Waiting is a loop of put() with a fresh
    timestamp and a pause of the bucket's own waiting(), rather than Limiter.try_acquire:
    its sync blocking mode stamps a token with the time it planned to wake up, not the time it
    did, so late wake-ups let a window overfill; and its non-blocking mode cannot drive
    filelock 4's lock. SingleBucketFactory still removes expired entries in the background.
    """

    def __init__(self, limits: dict[str, Limit], open_store: Callable[[], BucketStore]) -> None:
        self.limits = limits
        self._open_store = open_store
        self._store: BucketStore | None = None
        self._buckets: dict[str, tuple[SingleBucketFactory, AbstractBucket]] = {}
        # Threads of one process queue here for a host, so only one of them polls the
        # shared bucket (and its cross-process lock) at a time.
        self._host_locks = {host: threading.Lock() for host in limits}
        self._create_lock = threading.Lock()

    def _bucket(self, host: str) -> AbstractBucket:
        with self._create_lock:
            made = self._buckets.get(host)
            if made is None:
                if self._store is None:
                    self._store = self._open_store()
                bucket = self._store.bucket(host, [self.limits[host].rate()])
                made = (SingleBucketFactory(bucket), bucket)  # schedules the leak
                self._buckets[host] = made
            return made[1]

    def wait(self, host: str) -> float:
        """Take one token for the host, waiting as long as needed; return the ms waited."""
        key = host.lower()
        if key not in self.limits:
            return 0.0
        started = time.monotonic()
        bucket = self._bucket(key)
        # The SQLite bucket's file lock, taken before the timestamp so the token is stamped with
        # the time it is really granted (put() takes the same reentrant lock again).
        shared_lock = cast(AbstractContextManager[object] | None, bucket.limiter_lock())
        with self._host_locks[key]:
            while True:
                with shared_lock or nullcontext():
                    item = RateItem(key, bucket.now())
                    admitted = bucket.put(item)
                if admitted is True:
                    break
                wait_ms = bucket.waiting(item)
                assert isinstance(wait_ms, int), "the stores' buckets are synchronous"
                time.sleep(max(wait_ms, 0) / 1000 + BUFFER_SECONDS)
        return (time.monotonic() - started) * 1000

    def close(self) -> None:
        """Stop the leak threads, close the buckets and the store."""
        with self._create_lock:
            for factory, _ in self._buckets.values():
                factory.close()
            self._buckets.clear()
            if self._store is not None:
                self._store.close()
                self._store = None
