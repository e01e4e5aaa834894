"""Failed sign-ins: five in 15 minutes, then a pause, for unknown browsers and each known one.

OWASP's device cookies: a browser that has signed in as a name before carries a device
cookie for it (see `web/auth.py`) and is limited by its own failures only, so others'
guesses cannot lock the real user out. Other browsers share the limits per name and per
client address.
"""

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60.0
PRUNE_ABOVE = 10_000  # keys kept before expired ones are swept out


def name_key(name: str) -> str:
    """The form of a user name that limits and device cookies compare (case and spaces aside)."""
    return name.strip().casefold()[:200]


class LoginLimiter:
    """In-memory and thread-safe; counts failures, never successes.

    After `max_failures` failures within `window` seconds for one address or one name, further
    attempts from unknown browsers wait until the oldest of them is `window` seconds old. A
    known browser (`device`: its device cookie's id, valid for this name) is held back only
    after as many failures of its own; then it counts as unknown until they expire. A success
    clears the name's and the device's failures (not the address's: one address may be
    guessing many names).
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

    def _keys(self, ip: str, name: str, device: str | None, now: float) -> list[tuple[str, str]]:
        """What an attempt counts against: the known device alone, or the address and name."""
        if device is not None and self._wait(("device", device), now) == 0:
            return [("device", device)]
        return [("ip", ip), ("name", name_key(name))]

    def retry_after(self, *, ip: str, name: str, device: str | None = None) -> float:
        """Seconds to wait before this client may try this name again; 0 when it may now."""
        now = self._clock()
        with self._lock:
            return max(self._wait(key, now) for key in self._keys(ip, name, device, now))

    def _wait(self, key: tuple[str, str], now: float) -> float:
        times = self._failures.get(key)
        if times is None or len(times) < self.max_failures:
            return 0.0
        return max(0.0, times[0] + self.window - now)

    def failed(self, *, ip: str, name: str, device: str | None = None) -> None:
        """Count a failed attempt against the known device, else the address and the name."""
        now = self._clock()
        with self._lock:
            for key in self._keys(ip, name, device, now):
                times = self._failures.setdefault(key, deque(maxlen=self.max_failures))
                times.append(now)
            if len(self._failures) > PRUNE_ABOVE:
                self._prune(now)

    def succeeded(self, *, name: str, device: str | None = None) -> None:
        """Forget the name's (and the device's) failures after a successful sign-in."""
        with self._lock:
            self._failures.pop(("name", name_key(name)), None)
            if device is not None:
                self._failures.pop(("device", device), None)

    def tracked(self) -> int:
        """How many addresses, names and devices have failures on record (swept lazily)."""
        with self._lock:
            return len(self._failures)

    def _prune(self, now: float) -> None:
        expired = [key for key, times in self._failures.items()
                   if not times or times[-1] + self.window <= now]  # fmt: skip
        for key in expired:
            del self._failures[key]
