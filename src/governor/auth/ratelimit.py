"""Failed sign-ins per client address and per user name: five in 15 minutes, then a pause."""

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60.0
PRUNE_ABOVE = 10_000  # keys kept before expired ones are swept out


class LoginLimiter:
    """In-memory and thread-safe; counts failures, never successes.

    After `max_failures` failures within `window` seconds for one address or one name, further
    attempts wait until the oldest of them is `window` seconds old. A success clears the name's
    failures (not the address's: one address may be guessing many names).
    """

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], deque[float]] = {}

    @staticmethod
    def _keys(ip: str, name: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("ip", ip), ("name", name.strip().casefold()[:200])

    def retry_after(self, *, ip: str, name: str) -> float:
        """Seconds to wait before this address may try this name again; 0 when it may now."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(key, now) for key in self._keys(ip, name)]
        return max(waits)

    def _wait(self, key: tuple[str, str], now: float) -> float:
        times = self._failures.get(key)
        if times is None or len(times) < self.max_failures:
            return 0.0
        return max(0.0, times[0] + self.window - now)

    def failed(self, *, ip: str, name: str) -> None:
        """Count a failed attempt against the address and the name."""
        now = self._clock()
        with self._lock:
            for key in self._keys(ip, name):
                times = self._failures.setdefault(key, deque(maxlen=self.max_failures))
                times.append(now)
            if len(self._failures) > PRUNE_ABOVE:
                self._prune(now)

    def succeeded(self, *, name: str) -> None:
        """Forget the name's failures after a successful sign-in."""
        with self._lock:
            self._failures.pop(self._keys("", name)[1], None)

    def tracked(self) -> int:
        """How many addresses and names have failures on record (expired ones swept lazily)."""
        with self._lock:
            return len(self._failures)

    def _prune(self, now: float) -> None:
        expired = [key for key, times in self._failures.items()
                   if not times or times[-1] + self.window <= now]  # fmt: skip
        for key in expired:
            del self._failures[key]
