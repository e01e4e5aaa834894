"""The Stripe event inbox: each event stored once, handled once, retried, replayable."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from governor.errors import BadInput, NotFound
from governor.models import StripeEvent
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.revenue.translate import object_id, timestamp
from governor.storage.upsert import upsert

MAX_ATTEMPTS = 8
"""Attempts at handling one event before it is left for a person (`governor stripe replay`)."""


def _event_row(event: dict[str, Any], origin: str, now: datetime) -> dict[str, Any]:
    try:
        return {
            "id": str(event["id"]), "type": str(event["type"]),
            "created": timestamp(int(event["created"])),
            "livemode": bool(event.get("livemode", False)),
            "object_id": object_id((event.get("data") or {}).get("object")),
            "payload": event, "origin": origin, "received_at": now, "handled_at": None,
            "attempts": 0, "retry_at": None, "error": None,
        }  # fmt: skip
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        raise BadInput(f"Not a Stripe event: {error!r} is missing or malformed.") from None


def store(session: Session, events: list[dict[str, Any]], *, origin: str) -> None:
    """Insert events not seen before; a repeated event id changes nothing."""
    now = utcnow()
    rows = [_event_row(event, origin, now) for event in events]
    upsert(session, table_of(StripeEvent), rows, key=("id",), ignore=True)


@dataclass(frozen=True)
class Pending:
    """An event to handle: its id, attempt count so far, and the event as Stripe sent it."""

    id: str
    attempts: int
    payload: dict[str, Any]


def pending(session: Session, limit: int) -> list[Pending]:
    """Unhandled events due now, in Stripe's order (created, then id)."""
    E = StripeEvent
    query = (
        select(E.id, E.attempts, E.payload)
        .where(E.handled_at.is_(None), E.attempts < MAX_ATTEMPTS)
        .where((E.retry_at.is_(None)) | (E.retry_at <= utcnow()))
        .order_by(E.created, E.id)
        .limit(limit)
    )
    return [Pending(*row) for row in session.execute(query)]


def take(session: Session, event_ids: list[str]) -> set[str]:
    """Lock due events for this transaction; those another handler has or handled are left out."""
    query = (
        select(StripeEvent.id)
        .where(StripeEvent.id.in_(event_ids), StripeEvent.handled_at.is_(None))
        .with_for_update(skip_locked=True)
    )
    return set(session.scalars(query))


def mark_handled(session: Session, event_ids: list[str]) -> None:
    """The events' effects are written: they will not be handled again unless replayed."""
    if event_ids:
        session.execute(
            update(StripeEvent).where(StripeEvent.id.in_(event_ids))
            .values(handled_at=utcnow(), error=None, retry_at=None)
        )  # fmt: skip


def mark_failed(session: Session, event: Pending, error: str) -> bool:
    """Record a failed attempt and when to try again; True when no attempt is left."""
    attempts = event.attempts + 1
    given_up = attempts >= MAX_ATTEMPTS
    retry_at = None if given_up else utcnow() + timedelta(seconds=min(2**attempts, 3600))
    session.execute(
        update(StripeEvent).where(StripeEvent.id == event.id)
        .values(attempts=attempts, error=error[:2000], retry_at=retry_at)
    )  # fmt: skip
    return given_up


def replay(session: Session, event_id: str) -> StripeEvent:
    """Make an event due again now, whether it was handled or given up on."""
    event = session.get(StripeEvent, event_id, with_for_update=True)
    if event is None:
        raise NotFound(
            f"No Stripe event {event_id} in the inbox.",
            hint="`governor stripe sync` fetches the last 30 days of events from Stripe.",
        )
    event.handled_at, event.attempts, event.retry_at, event.error = None, 0, None, None
    return event


def counts(session: Session) -> dict[str, int]:
    """How many events are handled, waiting, and given up on."""
    E = StripeEvent
    state = case(
        (E.handled_at.is_not(None), "handled"),
        (E.attempts >= MAX_ATTEMPTS, "given_up"),
        else_="waiting",
    ).label("state")
    rows = session.execute(select(state, func.count()).group_by(state))
    found = {name: count for name, count in rows}
    return {name: found.get(name, 0) for name in ("handled", "waiting", "given_up")}
