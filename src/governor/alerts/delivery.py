"""Alerts people have not been told of, sent to every destination, each delivery logged.

An alert needs sending when it is open and was never delivered, or when it is open or
acknowledged and its severity grew above the one last delivered. It counts as notified once
one destination took it; an alert no destination took is tried again on the next run.
No transaction is open while messages are sent: the alerts are read first, and each alert's
outcome is written on its own afterwards.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.alerts import message
from governor.alerts.destinations import destinations
from governor.alerts.send import DestinationResult, Sender
from governor.config import Settings
from governor.errors import ConfigError
from governor.ids import new_id
from governor.models import Alert, AlertDelivery
from governor.models.types import utcnow
from governor.storage.db import session_scope

BATCH = 100  # alerts sent per run at most; the rest go on the next run
NO_DESTINATIONS = "no destinations: GOVERNOR_ALERT_URLS is not set"
GAVE_UP = "not tried: every attempt failed for an earlier alert of this run"
TEST_TITLE = f"{message.TITLE_PREFIX} Test: alerts reach this destination"
TEST_BODY = "A test message from `governor alerts test`. Nothing needs doing."


@dataclass
class DeliveryReport:
    """What one run sent: alerts considered, notified, left for the next run, failures by name."""

    destinations: int
    alerts: int = 0
    notified: int = 0
    undelivered: list[str] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        if not self.destinations:
            return {"skipped": NO_DESTINATIONS}
        return {"destinations": self.destinations, "alerts": self.alerts,
                "notified": self.notified, "undelivered": self.undelivered,
                "failed": self.failed}  # fmt: skip


def pending() -> Select[Alert]:
    """The alerts that need sending, the most severe and oldest first."""
    never = and_(Alert.status == "open", Alert.notified_severity.is_(None))
    grew = and_(Alert.status.in_(("open", "acknowledged")),
                Alert.severity > Alert.notified_severity)  # fmt: skip
    return select(Alert).where(or_(never, grew)).order_by(Alert.severity.desc(), Alert.first_seen)


def deliver_pending(engine: Engine, settings: Settings) -> DeliveryReport:
    """Send every alert that needs it to every destination; nothing without destinations."""
    found = destinations(settings)
    report = DeliveryReport(len(found))
    if not found:
        return report
    with session_scope(engine, readonly=True) as session:
        alerts = list(session.scalars(pending().limit(BATCH)))
    report.alerts = len(alerts)
    senders = [Sender(destination) for destination in found] if alerts else []
    gave_up: set[str] = set()
    for alert in alerts:
        results = [_send(sender, alert, gave_up) for sender in senders]
        with session_scope(engine) as session:
            _record(session, alert, results)
        if any(r.delivered for r in results):
            report.notified += 1
        else:
            report.undelivered.append(alert.id)
        for failure in (r for r in results if not r.delivered):
            report.failed[failure.destination] = report.failed.get(failure.destination, 0) + 1
    return report


def send_test(settings: Settings) -> list[DestinationResult]:
    """Send a test message to every destination; ConfigError when there is none."""
    found = destinations(settings)
    if not found:
        raise ConfigError(
            "No alert destinations: GOVERNOR_ALERT_URLS is not set.",
            hint="Set GOVERNOR_ALERT_URLS to one or more Apprise URLs, separated by commas, "
            "e.g. mailtos://user:password@smtp.example.com?to=ops@example.com",
        )
    return [Sender(destination).send(TEST_TITLE, TEST_BODY, "info") for destination in found]


def _send(sender: Sender, alert: Alert, gave_up: set[str]) -> DestinationResult:
    """One alert to one destination, unless it already failed every attempt in this run."""
    name = sender.destination.name
    if name in gave_up:
        now = utcnow()
        return DestinationResult(name, False, 0, GAVE_UP, now, now)
    result = sender.send(message.title(alert), message.body(alert),
                         message.notify_type(alert.severity))  # fmt: skip
    if not result.delivered:
        gave_up.add(name)
    return result


def _record(session: Session, alert: Alert, results: list[DestinationResult]) -> None:
    """Log each destination's outcome; raise the alert's notified severity if one delivered."""
    session.add_all(
        AlertDelivery(
            id=new_id("delivery"), alert_id=alert.id, destination=r.destination,
            severity=alert.severity, attempts=r.attempts,
            status="delivered" if r.delivered else "failed", error=r.error,
            created_at=r.started_at, finished_at=r.finished_at,
        )
        for r in results
    )  # fmt: skip
    if any(r.delivered for r in results):
        session.execute(
            update(Alert)
            .where(Alert.id == alert.id)
            .where(or_(Alert.notified_severity.is_(None), Alert.notified_severity < alert.severity))
            .values(notified_severity=alert.severity)
        )
