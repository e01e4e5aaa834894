"""Raising, listing, acknowledging and resolving alerts; one fingerprint is one ongoing incident."""

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from governor.errors import BadInput, NotFound
from governor.ids import new_id
from governor.models import Alert
from governor.models.types import utcnow

log = logging.getLogger(__name__)


def raise_alert(
    session: Session,
    *,
    kind: str,
    severity: int,
    fingerprint: str,
    title: str,
    details: Any = None,
) -> Alert:
    """Open an alert, or count one more sighting of the open one with the same fingerprint.

    A resolved alert that fires again opens again, as a new incident people are told of; an
    acknowledged one stays acknowledged (a person knows) but its count, last sighting and
    severity still move.
    """
    now = utcnow()
    alert = _find(session, fingerprint)
    if alert is None:
        alert = Alert(
            id=new_id("alert"), kind=kind, severity=severity, fingerprint=fingerprint,
            title=title, details=details, status="open", count=1, first_seen=now, last_seen=now,
        )  # fmt: skip
        try:
            with session.begin_nested():  # another writer may raise the same alert meanwhile
                session.add(alert)
            return alert
        except IntegrityError:
            found = _find(session, fingerprint)
            if found is None:
                raise
            alert = found
    alert.count += 1
    alert.last_seen = now
    alert.severity = max(alert.severity, severity)
    alert.title, alert.details = title, details
    if alert.status == "resolved":
        alert.status, alert.resolved_at, alert.acknowledged_at = "open", None, None
        alert.notified_severity = None
    return alert


def _find(session: Session, fingerprint: str) -> Alert | None:
    query = select(Alert).where(Alert.fingerprint == fingerprint).with_for_update()
    return session.scalar(query)


def list_alerts(session: Session, *, status: str | None = None, limit: int = 100) -> list[Alert]:
    """Alerts, most recently seen first."""
    query = select(Alert).order_by(Alert.last_seen.desc()).limit(limit)
    if status is not None:
        query = query.where(Alert.status == status)
    return list(session.scalars(query))


def acknowledge(session: Session, alert_id: str, actor: str) -> Alert:
    """Mark an alert as seen by a person: it is sent again only if its severity grows."""
    alert = get_alert(session, alert_id)
    if alert.status == "resolved":
        raise BadInput(
            f"Alert {alert_id} is resolved: there is nothing to acknowledge.",
            hint="A resolved alert opens again by itself if it fires again.",
        )
    if alert.status == "open":
        alert.status, alert.acknowledged_at = "acknowledged", utcnow()
        log.info("Alert %s acknowledged by %s", alert_id, actor)
    return alert


def resolve(session: Session, alert_id: str, actor: str) -> Alert:
    """Close an alert (again, harmlessly, if it is closed already)."""
    alert = get_alert(session, alert_id)
    if alert.status != "resolved":
        alert.status, alert.resolved_at = "resolved", utcnow()
        log.info("Alert %s resolved by %s", alert_id, actor)
    return alert


def get_alert(session: Session, alert_id: str) -> Alert:
    """One alert by id; NotFound when there is none."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(
            f"No alert {alert_id}.",
            hint="`governor alerts list --status all` shows every alert's id.",
        )
    return alert
