"""Daily friction series for the drift monitors: abandonment and conversion per offer, time to
fulfil, providers' first-attempt failures, and ratings (each aggregated by the database)."""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.detection.drift import Direction
from governor.models import CheckoutSession, Feedback, Fulfilment, FunnelEvent, Order
from governor.monitors.series import Readings, Watched
from governor.storage.sql_pieces import percentiles, seconds_between, tally, utc_day


def friction_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """Add every friction series of [start, end) to `readings`, one point per UTC day."""
    dialect = session.get_bind().dialect.name
    _checkout_days(session, start, end, readings, dialect)
    _fulfil_days(session, start, end, readings, dialect)
    _provider_days(session, start, end, readings, dialect)
    _rating_days(session, start, end, readings, dialect)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _per_offer(name: str, label: str, unit: str, direction: Direction, offer: str,
               page: str) -> Watched:  # fmt: skip
    return Watched(f"drift.{name}.{offer}", f"{label} of {offer}", unit, direction,
                   page=page, filters={"offer_id": offer}, dense=False)  # fmt: skip


def _checkout_days(session: Session, start: datetime, end: datetime, readings: Readings,
                   dialect: str) -> None:  # fmt: skip
    """Abandonment (expired of ended sessions) and conversion (paid sessions per view)."""
    ended = sa.func.coalesce(CheckoutSession.completed_at, CheckoutSession.expired_at)
    day = utc_day(ended, dialect)
    rows = session.execute(
        sa.select(CheckoutSession.offer_id, day, sa.func.count(),
                  tally(CheckoutSession.status == "expired"))
        .where(ended >= start, ended < end, CheckoutSession.offer_id.is_not(None),
               CheckoutSession.status.in_(("complete", "expired")))
        .group_by(CheckoutSession.offer_id, day)
    ).all()  # fmt: skip
    sessions = {(str(offer), _day(at)): (int(total), int(expired))
                for offer, at, total, expired in rows}  # fmt: skip
    for (offer, when), (total, expired) in sessions.items():
        watched = _per_offer("abandonment", "Checkout abandonment", "rate", "up", offer, "/funnel")
        readings.add(watched, when, expired / total)
    viewed_day = utc_day(FunnelEvent.at, dialect)
    views = session.execute(
        sa.select(FunnelEvent.offer_id, viewed_day, sa.func.count())
        .where(FunnelEvent.step == "offer_viewed", FunnelEvent.at >= start, FunnelEvent.at < end)
        .group_by(FunnelEvent.offer_id, viewed_day)
    ).all()  # fmt: skip
    for offer, text, count in views:
        total, expired = sessions.get((offer, _day(text)), (0, 0))
        watched = _per_offer("conversion", "Views that paid", "rate", "down", offer, "/funnel")
        readings.add(watched, _day(text), (total - expired) / count)


def _fulfil_days(session: Session, start: datetime, end: datetime, readings: Readings,
                 dialect: str) -> None:  # fmt: skip
    """The median minutes from payment to fulfilment of the orders fulfilled each day."""
    key = Order.offer_id + "|" + utc_day(Order.fulfilled_at, dialect)
    rows = sa.select(Order.id).where(
        Order.fulfilled_at >= start, Order.fulfilled_at < end, Order.paid_at.is_not(None)
    )
    waits = percentiles(session, key, seconds_between(Order.paid_at, Order.fulfilled_at, dialect),
                        rows, (50,))  # fmt: skip
    for grouped, found in waits.items():
        offer, _, at = str(grouped).rpartition("|")
        watched = _per_offer("time_to_fulfil", "Median minutes to fulfil", "count", "up", offer,
                             "/fulfilment")  # fmt: skip
        readings.add(watched, _day(at), found[50] / 60)


def _provider_days(session: Session, start: datetime, end: datetime, readings: Readings,
                   dialect: str) -> None:  # fmt: skip
    """Each provider's share of finished steps that failed their first attempt."""
    day = utc_day(Fulfilment.finished_at, dialect)
    rows = session.execute(
        sa.select(Fulfilment.provider, day, sa.func.count(),
                  tally(sa.or_(Fulfilment.attempts > 1, Fulfilment.status == "failed")))
        .where(Fulfilment.finished_at >= start, Fulfilment.finished_at < end,
               Fulfilment.status.in_(("done", "failed")))
        .group_by(Fulfilment.provider, day)
    ).all()  # fmt: skip
    for provider, at, total, failed in rows:
        watched = Watched(f"drift.provider_failures.{provider}",
                          f"First attempts failed at {provider}", "rate", "up", page="/fulfilment",
                          filters={"provider": provider}, dense=False)  # fmt: skip
        readings.add(watched, _day(at), int(failed) / int(total))


def _rating_days(session: Session, start: datetime, end: datetime, readings: Readings,
                 dialect: str) -> None:  # fmt: skip
    """Each offer's mean rating per day."""
    day = utc_day(Feedback.created_at, dialect)
    rows = session.execute(
        sa.select(Feedback.offer_id, day, sa.func.avg(Feedback.rating))
        .where(Feedback.created_at >= start, Feedback.created_at < end)
        .group_by(Feedback.offer_id, day)
    ).all()  # fmt: skip
    for offer, at, mean in rows:
        watched = _per_offer("rating", "Mean rating", "count", "down", offer, "/feedback")
        readings.add(watched, _day(at), float(mean))
