"""Daily friction series for the drift monitors: abandonment and conversion per offer, time to
fulfil, providers' first-attempt failures, and ratings."""

import statistics
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.detection.drift import Direction
from governor.models import CheckoutSession, Feedback, Fulfilment, FunnelEvent, Order
from governor.monitors.series import Readings, Watched


def friction_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """Add every friction series of [start, end) to `readings`, one point per UTC day."""
    _checkout_days(session, start, end, readings)
    _fulfil_days(session, start, end, readings)
    _provider_days(session, start, end, readings)
    _rating_days(session, start, end, readings)


def _day(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _per_offer(name: str, label: str, unit: str, direction: Direction, offer: str,
               page: str) -> Watched:  # fmt: skip
    return Watched(f"drift.{name}.{offer}", f"{label} of {offer}", unit, direction,
                   page=page, filters={"offer_id": offer}, dense=False)  # fmt: skip


def _checkout_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """Abandonment (expired of ended sessions) and conversion (paid sessions per view)."""
    ended = sa.func.coalesce(CheckoutSession.completed_at, CheckoutSession.expired_at)
    rows = session.execute(
        sa.select(CheckoutSession.offer_id, ended, CheckoutSession.status)
        .where(ended >= start, ended < end, CheckoutSession.offer_id.is_not(None),
               CheckoutSession.status.in_(("complete", "expired")))
    ).all()  # fmt: skip
    sessions: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])
    for offer, at, status in rows:
        counts = sessions[str(offer), _day(at)]
        counts[0], counts[1] = counts[0] + 1, counts[1] + int(status == "expired")
    for (offer, day), (total, expired) in sessions.items():
        watched = _per_offer("abandonment", "Checkout abandonment", "rate", "up", offer, "/funnel")
        readings.add(watched, day, expired / total)
    views = session.execute(
        sa.select(FunnelEvent.offer_id, FunnelEvent.at)
        .where(FunnelEvent.step == "offer_viewed", FunnelEvent.at >= start, FunnelEvent.at < end)
    ).all()  # fmt: skip
    viewed: dict[tuple[str, datetime], int] = defaultdict(int)
    for offer, at in views:
        viewed[offer, _day(at)] += 1
    for (offer, day), count in viewed.items():
        paid = sessions.get((offer, day), [0, 0])
        watched = _per_offer("conversion", "Views that paid", "rate", "down", offer, "/funnel")
        readings.add(watched, day, (paid[0] - paid[1]) / count)


def _fulfil_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """The median minutes from payment to fulfilment of the orders fulfilled each day."""
    rows = session.execute(
        sa.select(Order.offer_id, Order.paid_at, Order.fulfilled_at)
        .where(Order.fulfilled_at >= start, Order.fulfilled_at < end, Order.paid_at.is_not(None))
    ).all()  # fmt: skip
    waits: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for offer, paid, fulfilled in rows:
        assert paid is not None and fulfilled is not None  # the query asked for both
        waits[offer, _day(fulfilled)].append((fulfilled - paid).total_seconds() / 60)
    for (offer, day), minutes in waits.items():
        watched = _per_offer("time_to_fulfil", "Median minutes to fulfil", "count", "up", offer,
                             "/fulfilment")  # fmt: skip
        readings.add(watched, day, statistics.median(minutes))


def _provider_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """Each provider's share of finished steps that failed their first attempt."""
    rows = session.execute(
        sa.select(Fulfilment.provider, Fulfilment.finished_at, Fulfilment.attempts,
                  Fulfilment.status)
        .where(Fulfilment.finished_at >= start, Fulfilment.finished_at < end,
               Fulfilment.status.in_(("done", "failed")))
    ).all()  # fmt: skip
    steps: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])
    for provider, finished, attempts, status in rows:
        assert finished is not None  # the query asked for finished steps
        counts = steps[provider, _day(finished)]
        counts[0], counts[1] = counts[0] + 1, counts[1] + int(attempts > 1 or status == "failed")
    for (provider, day), (total, failed) in steps.items():
        watched = Watched(f"drift.provider_failures.{provider}",
                          f"First attempts failed at {provider}", "rate", "up", page="/fulfilment",
                          filters={"provider": provider}, dense=False)  # fmt: skip
        readings.add(watched, day, failed / total)


def _rating_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """Each offer's mean rating per day."""
    rows = session.execute(
        sa.select(Feedback.offer_id, Feedback.created_at, Feedback.rating)
        .where(Feedback.created_at >= start, Feedback.created_at < end)
    ).all()  # fmt: skip
    ratings: dict[tuple[str, datetime], list[int]] = defaultdict(list)
    for offer, at, rating in rows:
        ratings[offer, _day(at)].append(rating)
    for (offer, day), given in ratings.items():
        watched = _per_offer("rating", "Mean rating", "count", "down", offer, "/feedback")
        readings.add(watched, day, sum(given) / len(given))
