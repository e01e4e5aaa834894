"""Friction measured per offer: views → checkout started → paid → fulfilled → rated on cohorts
that have had their full window, abandonment, fulfilment failures, refunds, ratings and what
friction costs; aggregated in the database (one pass over the cohort's sessions per query)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.models import CheckoutSession, Feedback, Fulfilment, FunnelEvent, Offer, Order
from governor.offers.providers import ProviderFriction, provider_friction
from governor.storage.sql_pieces import percentiles, seconds_between, tally, total

STEPS = (
    ("viewed", "Viewed"),
    ("started", "Checkout started"),
    ("paid", "Paid"),
    ("fulfilled", "Fulfilled"),
    ("rated", "Rated"),
)
"""The funnel's steps in order, with their labels."""


@dataclass(frozen=True)
class Cohort:
    """The entries counted: views and sessions that began in [start, end), every one of them at
    least `window_days` old, so each has had its full window to pay, be fulfilled and rated."""

    start: datetime
    end: datetime
    window_days: int

    @classmethod
    def of(cls, start: datetime, end: datetime, now: datetime, window_days: int) -> "Cohort":
        """The period [start, end) moved back, keeping its length, until its end is
        `window_days` before `now` (a period that ended longer ago is kept as it is)."""
        shift = max(end - (now - timedelta(days=window_days)), timedelta(0))
        return cls(start - shift, end - shift, window_days)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "window_days": self.window_days}  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One step of an offer's funnel: how many reached it, and how many the step before lost."""

    key: str
    label: str
    count: int
    conversion: float | None  # of the step before (None for the first step)
    dropped: int
    drop_rate: float | None


@dataclass
class OfferFriction:
    """Every friction figure of one offer's cohort; rates are None where nothing was counted."""

    offer_id: str
    title: str
    status: str
    currency: str
    price_minor: int
    steps: list[Step] = field(default_factory=list)
    sessions: int = 0
    abandoned: int = 0
    abandoned_at_payment: int = 0
    abandonment_rate: float | None = None
    payment_abandonment_rate: float | None = None  # of sessions that reached the payment step
    async_payment_failed: int = 0
    recovered: int = 0
    time_to_pay_s: dict[str, float] = field(default_factory=dict)  # p50, p95, p99
    time_to_fulfil_s: dict[str, float] = field(default_factory=dict)
    fulfilment_steps: int = 0
    first_attempt_failure_rate: float | None = None
    eventual_failure_rate: float | None = None
    retries_per_order: float | None = None
    action_required_rate: float | None = None
    refunds_per_100: float | None = None  # refunds of fulfilled orders, per 100 of them
    disputes_per_100: float | None = None
    feedback_response_rate: float | None = None
    mean_rating: float | None = None
    abandoned_minor: int = 0  # abandoned sessions x their amount (the offer's price if unknown)
    refunded_after_failure_minor: int = 0  # refunds of orders whose fulfilment failed

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


@dataclass
class Funnel:
    """The funnel of every offer (or one) over one cohort, and each provider's friction."""

    cohort: Cohort
    computed_at: datetime
    offers: list[OfferFriction]
    providers: list[ProviderFriction]
    peak_days: list[str]

    def offer(self, offer_id: str) -> OfferFriction | None:
        return next((o for o in self.offers if o.offer_id == offer_id), None)


def ratio(part: int | float, whole: int | float) -> float | None:
    """part / whole, or None when there is no whole."""
    return part / whole if whole else None


def funnel(
    session: Session,
    cohort: Cohort,
    now: datetime,
    *,
    peak_offers: int,
    offer_id: str | None = None,
) -> Funnel:
    """The friction of every offer (or only `offer_id`) over `cohort`."""
    dialect = session.get_bind().dialect.name
    offers = _offers(session, offer_id)
    found = {o.offer_id: o for o in offers}
    keys = [k for k, _ in STEPS]
    counts: dict[str, dict[str, int]] = {o.offer_id: dict.fromkeys(keys, 0) for o in offers}
    for offer, views in _views(session, cohort, offer_id):
        if offer in counts:
            counts[offer]["viewed"] = views
    for offer, started in _untracked_starts(session, cohort, offer_id):
        if offer in counts:
            counts[offer]["started"] += started
    _sessions(session, cohort, offer_id, found, counts)
    _fulfilment(session, cohort, offer_id, found)
    _durations(session, cohort, offer_id, found, dialect)
    for item in offers:
        item.steps = _steps(counts[item.offer_id])
    providers, peaks = provider_friction(session, cohort.start, cohort.end, peak_offers)
    return Funnel(cohort, now, offers, providers, peaks)


def _offers(session: Session, offer_id: str | None) -> list[OfferFriction]:
    query = sa.select(Offer.id, Offer.title, Offer.status, Offer.currency, Offer.price_minor)
    if offer_id is not None:
        query = query.where(Offer.id == offer_id)
    rows = session.execute(query.order_by(Offer.created_at, Offer.id)).all()
    return [OfferFriction(i, t, s, c.lower(), p) for i, t, s, c, p in rows]


def _in(column: Any, cohort: Cohort) -> sa.ColumnElement[bool]:
    return sa.and_(column >= cohort.start, column < cohort.end)


def _views(session: Session, cohort: Cohort, offer_id: str | None) -> list[Any]:
    query = (
        sa.select(FunnelEvent.offer_id, sa.func.count())
        .where(FunnelEvent.step == "offer_viewed", _in(FunnelEvent.at, cohort))
        .group_by(FunnelEvent.offer_id)
    )
    if offer_id is not None:
        query = query.where(FunnelEvent.offer_id == offer_id)
    return list(session.execute(query).all())


def _untracked_starts(session: Session, cohort: Cohort, offer_id: str | None) -> list[Any]:
    """Checkouts Governor saw start (a `checkout_started` track) that Stripe never reported."""
    known = sa.exists().where(CheckoutSession.id == FunnelEvent.checkout_session_id)
    query = (
        sa.select(FunnelEvent.offer_id, sa.func.count())
        .where(FunnelEvent.step == "checkout_started", _in(FunnelEvent.at, cohort),
               sa.or_(FunnelEvent.checkout_session_id.is_(None), ~known))
        .group_by(FunnelEvent.offer_id)
    )  # fmt: skip
    if offer_id is not None:
        query = query.where(FunnelEvent.offer_id == offer_id)
    return list(session.execute(query).all())


def paid_condition() -> sa.ColumnElement[bool]:
    """A session that ended in a payment (an asynchronous one once it succeeded)."""
    cs = CheckoutSession
    paid = sa.or_(cs.payment_status == "paid", cs.async_payment == "succeeded")
    return sa.and_(cs.status == "complete", paid)


def cohort_sessions(cohort: Cohort, offer_id: str | None) -> sa.ColumnElement[bool]:
    """The sessions of the cohort (of one offer)."""
    cs = CheckoutSession
    where = sa.and_(_in(cs.created_at, cohort), cs.offer_id.is_not(None))
    return where if offer_id is None else sa.and_(where, cs.offer_id == offer_id)


def _sessions(
    session: Session,
    cohort: Cohort,
    offer_id: str | None,
    found: dict[str, OfferFriction],
    counts: dict[str, dict[str, int]],
) -> None:
    """Sessions, abandonment and payments; then the paid sessions' orders: fulfilled,
    refunded or disputed after it, rated (two passes: the sessions alone, then their orders)."""
    cs, o, fb = CheckoutSession, Order, Feedback
    expired = cs.status == "expired"
    priced = cs.amount_total_minor.is_not(None)
    rows = session.execute(
        sa.select(
            cs.offer_id,
            sa.func.count(),
            tally(expired),
            tally(sa.and_(expired, cs.payment_intent_id.is_not(None))),
            tally(cs.payment_intent_id.is_not(None)),
            tally(paid_condition()),
            tally(cs.async_payment == "failed"),
            tally(sa.and_(cs.status == "complete", cs.recovered_from.is_not(None))),
            total(cs.amount_total_minor, sa.and_(expired, priced)),
            tally(sa.and_(expired, ~priced)),
        )
        .where(cohort_sessions(cohort, offer_id))
        .group_by(cs.offer_id)
    ).all()
    for (offer, sessions, lost, lost_paying, paying, paid, async_failed, recovered, lost_minor,
         lost_unpriced) in rows:  # fmt: skip
        item = found.get(str(offer))
        if item is None:
            continue
        steps = counts[item.offer_id]
        steps["started"] += sessions
        steps["paid"] = paid
        item.sessions, item.abandoned, item.abandoned_at_payment = sessions, lost, lost_paying
        item.abandonment_rate = ratio(lost, sessions)
        item.payment_abandonment_rate = ratio(lost_paying, paying)
        item.async_payment_failed, item.recovered = async_failed, recovered
        item.abandoned_minor = lost_minor + lost_unpriced * item.price_minor
    fulfilled = o.fulfilled_at.is_not(None)
    orders = session.execute(
        sa.select(
            cs.offer_id,
            tally(fulfilled),
            tally(sa.and_(fulfilled, o.status == "refunded")),
            tally(sa.and_(fulfilled, o.status == "disputed")),
            tally(fb.id.is_not(None)),
            sa.func.avg(fb.rating),
        )
        .select_from(cs)
        .join(o, o.checkout_session_id == cs.id)
        .outerjoin(fb, fb.order_id == o.id)
        .where(cohort_sessions(cohort, offer_id), cs.status == "complete")
        .group_by(cs.offer_id)
    ).all()
    for offer, done, refunds, disputes, rated, mean in orders:
        item = found.get(str(offer))
        if item is None:
            continue
        counts[item.offer_id]["fulfilled"], counts[item.offer_id]["rated"] = done, rated
        item.refunds_per_100 = _per_100(refunds, done)
        item.disputes_per_100 = _per_100(disputes, done)
        item.feedback_response_rate = ratio(rated, done)
        item.mean_rating = None if mean is None else round(float(mean), 2)


def _per_100(part: int, whole: int) -> float | None:
    share = ratio(part, whole)
    return None if share is None else round(100 * share, 2)


def _fulfilment(
    session: Session, cohort: Cohort, offer_id: str | None, found: dict[str, OfferFriction]
) -> None:
    """The cohort's orders' fulfilment steps: failures first time and in the end, retries; and
    the money refunded for orders whose fulfilment failed."""
    fu = Fulfilment
    finished = fu.status.in_(("done", "failed", "action_required"))
    rows = session.execute(
        sa.select(
            CheckoutSession.offer_id,
            tally(finished),
            tally(sa.and_(finished, sa.or_(fu.attempts > 1, fu.status != "done"))),
            tally(fu.status == "failed"),
            tally(fu.status == "action_required"),
            total(fu.attempts - 1, fu.attempts > 1),
            sa.func.count(sa.distinct(fu.order_id)),
        )
        .select_from(fu)
        .join(Order, Order.id == fu.order_id)
        .join(CheckoutSession, CheckoutSession.id == Order.checkout_session_id)
        .where(cohort_sessions(cohort, offer_id))
        .group_by(CheckoutSession.offer_id)
    ).all()
    for offer, steps, first_failed, failed, action, retries, orders in rows:
        item = found.get(str(offer))
        if item is None:
            continue
        item.fulfilment_steps = steps
        item.first_attempt_failure_rate = ratio(first_failed, steps)
        item.eventual_failure_rate = ratio(failed, steps)
        item.action_required_rate = ratio(action, steps)
        item.retries_per_order = None if not orders else round(retries / orders, 3)
    gave_up = sa.select(Fulfilment.order_id).where(Fulfilment.status == "failed")
    refunded = session.execute(  # the status in the sum, not the WHERE: an index on it would
        # lead SQLite to scan every refunded order once per session of the cohort
        sa.select(CheckoutSession.offer_id, total(Order.amount_minor, Order.status == "refunded"))
        .select_from(Order)
        .join(CheckoutSession, CheckoutSession.id == Order.checkout_session_id)
        .where(cohort_sessions(cohort, offer_id), Order.id.in_(gave_up))
        .group_by(CheckoutSession.offer_id)
    ).all()  # fmt: skip
    for offer, amount in refunded:
        if str(offer) in found:
            found[str(offer)].refunded_after_failure_minor = int(amount or 0)


def _durations(
    session: Session,
    cohort: Cohort,
    offer_id: str | None,
    found: dict[str, OfferFriction],
    dialect: str,
) -> None:
    """Time to pay (session opened → paid) and to fulfil (paid → fulfilled): p50, p95, p99."""
    cs = CheckoutSession
    paid_at = sa.func.coalesce(
        sa.case((cs.async_payment == "succeeded", cs.async_payment_at)), cs.completed_at
    )
    base = sa.select(cs.id).where(cohort_sessions(cohort, offer_id))
    to_pay = percentiles(session, cs.offer_id, seconds_between(cs.created_at, paid_at, dialect),
                         base.where(paid_condition()))  # fmt: skip
    fulfil = seconds_between(Order.paid_at, Order.fulfilled_at, dialect)
    orders = base.join(Order, Order.checkout_session_id == cs.id).where(
        Order.paid_at.is_not(None), Order.fulfilled_at.is_not(None)
    )
    to_fulfil = percentiles(session, cs.offer_id, fulfil, orders)
    for offer, item in found.items():
        item.time_to_pay_s = {f"p{p}": round(v, 1) for p, v in to_pay.get(offer, {}).items()}
        item.time_to_fulfil_s = {f"p{p}": round(v, 1) for p, v in to_fulfil.get(offer, {}).items()}


def _steps(counts: dict[str, int]) -> list[Step]:
    steps: list[Step] = []
    before: int | None = None
    for key, label in STEPS:
        count = counts[key]
        if before is None:
            steps.append(Step(key, label, count, None, 0, None))
        else:
            dropped = max(before - count, 0)
            steps.append(Step(key, label, count, ratio(count, before), dropped,
                              ratio(dropped, before)))  # fmt: skip
        before = count
    return steps
