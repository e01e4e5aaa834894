"""Back-off for a background loop whose database work fails, logged once per change of state."""

import logging
from dataclasses import dataclass, field

from governor.errors import GovernorError

FIRST_WAIT_S = 0.5
LONGEST_WAIT_S = 5.0
"""A loop tries again at least this often: a database that is back is noticed within it."""


@dataclass
class Outage:
    """Whether one loop's work fails now, how long to wait before its next try, what to log.

    A failure is logged when it starts or changes kind (unreachable → read-only), and once
    more when the work succeeds again; the tries in between wait twice as long each time, up
    to LONGEST_WAIT_S, and log nothing.
    """

    what: str  # the loop's name in the log, e.g. "the executor"
    log: logging.Logger
    _kind: str | None = field(default=None, init=False)  # the failure's kind; None: working
    _wait_s: float = field(default=FIRST_WAIT_S, init=False)
    _failures: int = field(default=0, init=False)

    def failed(self, error: BaseException) -> float:
        """Note a failed try (logging it if it is a new kind); return how long to wait."""
        kind = type(error).__name__
        if kind != self._kind:
            self._kind = kind
            if isinstance(error, GovernorError):  # explained already: one line is enough
                self.log.error("%s is failing (trying again with back-off): %s", self.what,
                               error.message)  # fmt: skip
            else:
                self.log.error("%s is failing; trying again with back-off", self.what,
                               exc_info=error)  # fmt: skip
        self._failures += 1
        wait, self._wait_s = self._wait_s, min(LONGEST_WAIT_S, 2 * self._wait_s)
        return wait

    def succeeded(self) -> None:
        """Note a try that worked: logged if it ends a failure."""
        if self._kind is not None:
            self.log.warning("%s works again after %d failed tries.", self.what, self._failures)
        self._kind, self._wait_s, self._failures = None, FIRST_WAIT_S, 0
