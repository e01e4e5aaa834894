"""One message to one destination through Apprise: a few attempts, a short backoff, an outcome."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.alerts.destinations import Destination
from governor.models.types import utcnow

ATTEMPTS = 3
BACKOFF_SECONDS = 0.5  # the wait before the second attempt; it doubles after each failure
TIMEOUT_SECONDS = 15.0  # one attempt's limit, connecting included
ERROR_LENGTH = 300
_PROBLEMS = ("WARNING", "ERROR", "CRITICAL")  # log levels that say why a send failed
UNUSABLE = "Apprise cannot use this URL (unknown scheme or missing parts)"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DestinationResult:
    """How sending to one destination ended; its name and error are free of secrets."""

    destination: str
    delivered: bool
    attempts: int
    error: str | None
    started_at: datetime
    finished_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"destination": self.destination, "delivered": self.delivered,
                "attempts": self.attempts, "error": self.error}  # fmt: skip


class Sender:
    """One destination's own Apprise object, so that its outcome is known apart from others'."""

    def __init__(self, destination: Destination) -> None:
        import apprise  # loading its plugins takes a moment: only when something is sent

        self.destination = destination
        asset = apprise.AppriseAsset(
            app_id="Governor", app_desc="Governor alerts", storage_mode="memory",
            service_timeout=TIMEOUT_SECONDS,
        )  # fmt: skip
        self._apprise = apprise.Apprise(asset=asset)
        self._usable = self._apprise.add(destination.url)

    def send(self, title: str, body: str, notify_type: str) -> DestinationResult:
        """Try up to ATTEMPTS times; the last failure's reason is kept, redacted."""
        started, error, attempts = utcnow(), UNUSABLE, 0
        while self._usable and attempts < ATTEMPTS:
            if attempts:
                time.sleep(BACKOFF_SECONDS * 2 ** (attempts - 1))
            attempts += 1
            error = self._attempt(title, body, notify_type)
            if not error:
                return DestinationResult(self.destination.name, True, attempts, None, started,
                                         utcnow())  # fmt: skip
        log.warning("Sending to %s failed after %d attempt(s): %s", self.destination.name,
                    attempts, error)  # fmt: skip
        return DestinationResult(self.destination.name, False, attempts, error, started, utcnow())

    def _attempt(self, title: str, body: str, notify_type: str) -> str:
        """'' when delivered, else why not."""
        try:
            with self._apprise.notify(
                body=body, title=title, notify_type=notify_type, body_format="text"
            ) as result:
                if result:
                    return ""
                warnings = [e.message for e in result.logs() if e.level in _PROBLEMS]
                reason = warnings[-1] if warnings else f"Apprise: {result.status.name.lower()}"
        except Exception as error:  # a destination's failure must never stop the others
            reason = f"{type(error).__name__}: {error}"
        return self.destination.scrub(reason)[:ERROR_LENGTH] or "failed"
