"""A circuit breaker per host: open after consecutive failures, half-open after a pause."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from governor.errors import GovernorError


class CircuitOpen(GovernorError):
    """Calls to a host are refused for now because its last calls kept failing."""

    http_status = 503

    def __init__(self, host: str, retry_in: float) -> None:
        at = datetime.now(UTC) + timedelta(seconds=retry_in)
        super().__init__(
            f"Calls to {host} are paused after repeated failures; it will be tried again "
            f"at {at:%H:%M:%S} UTC (in {retry_in:.1f} s).",
            hint="Check the service's status; Governor retries it on its own after the pause.",
        )
        self.host = host
        self.retry_in = retry_in


class CircuitBreaker:
    """Closed → open after `failures` consecutive failures → one trial after `reset_seconds`.

    A tiny own class rather than pybreaker: Governor needs only this state machine, an
    injectable clock for tests, and an error that names the host and the time of the next try.
    """

    def __init__(
        self,
        host: str,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.host = host
        self.failures = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        """'closed', 'open' or 'half-open'."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.reset_seconds:
                return "half-open"
            return "open"

    def before_call(self) -> None:
        """Let a call through, or raise CircuitOpen at once."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self._clock() - self._opened_at
            if waited < self.reset_seconds:
                raise CircuitOpen(self.host, self.reset_seconds - waited)
            if self._trial_running:
                raise CircuitOpen(self.host, 0.0)
            self._trial_running = True

    def record_success(self) -> None:
        """The host answered: close the circuit."""
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> bool:
        """The host failed; return True if this failure opened (or reopened) the circuit."""
        with self._lock:
            self._consecutive += 1
            reopen = self._trial_running
            self._trial_running = False
            if reopen or (self._opened_at is None and self._consecutive >= self.failures):
                self._opened_at = self._clock()
                return True
            return False

    def abandon(self) -> None:
        """A call ended without a verdict on the host (e.g. a bug in the caller): free the trial."""
        with self._lock:
            self._trial_running = False
