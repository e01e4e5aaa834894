"""Friction series drift: abandonment, a provider's first attempts and ratings turning bad."""

from datetime import timedelta

from governor.ids import new_id
from governor.models import CheckoutSession, Feedback, Fulfilment, Order
from governor.storage.db import session_scope
from tests.factories import make_order
from tests.monitors.test_evaluate import DAY, HOUR, NOW, alerts, findings, run

START = (NOW - 40 * DAY).replace(hour=0, minute=0)
ONSET = 25


def _world(engine) -> str:  # type: ignore[no-untyped-def]
    """40 days of one offer: 20 sessions, 20 fulfilment steps and 5 ratings a day; from day 25
    on, more sessions expire, the provider fails more first attempts, and ratings fall."""
    offer = make_order(engine)["offer"]
    with session_scope(engine) as session:
        for day in range(40):
            bad = day >= ONSET
            for i in range(20):
                at = START + day * DAY + HOUR + timedelta(minutes=20 * i)
                expired = i < (9 if bad else 2) + day % 2
                session.add(CheckoutSession(
                    id=new_id("cs"), offer_id=offer, status="expired" if expired else "complete",
                    created_at=at - timedelta(minutes=5), event_at=at,
                    completed_at=None if expired else at, expired_at=at if expired else None,
                ))  # fmt: skip
                order = Order(id=new_id("order"), offer_id=offer, amount_minor=4900,
                              currency="usd", status="fulfilled", created_at=at, paid_at=at,
                              fulfilled_at=at + timedelta(minutes=3))  # fmt: skip
                session.add(order)
                session.flush()
                retried = i < (6 if bad else 1) + day % 2
                session.add(Fulfilment(
                    id=new_id("ful"), order_id=order.id, step="deliver", provider="mailer",
                    idempotency_key=f"{order.id}:deliver", status="done",
                    attempts=2 if retried else 1, throttled=0, created_at=at,
                    finished_at=at + timedelta(minutes=3),
                ))  # fmt: skip
                if i < 5:
                    rating = (3 if i < 3 else 4) if bad else (5 if i < 3 else 4)
                    session.add(Feedback(id=new_id("fb"), order_id=order.id, offer_id=offer,
                                         rating=rating - (day % 2 if i == 4 else 0),
                                         source="link",
                                         created_at=at + timedelta(hours=2)))  # fmt: skip
    return offer


def test_abandonment_provider_failures_and_ratings_turning_bad_are_drifts(migrated):
    offer = _world(migrated)
    run()
    drifting = {f.series: f for f in findings("drift")}
    onset = START + ONSET * DAY
    for series in (f"drift.abandonment.{offer}", "drift.provider_failures.mailer",
                   f"drift.rating.{offer}"):  # fmt: skip
        assert series in drifting, sorted(drifting)
        assert abs((drifting[series].at - onset).days) <= 4
    assert f"drift.time_to_fulfil.{offer}" not in drifting  # three minutes, every day
    assert "Checkout abandonment of" in drifting[f"drift.abandonment.{offer}"].explanation
    by_fingerprint = {a.fingerprint: a for a in alerts()}
    rating = by_fingerprint[f"drift:drift.rating.{offer}"]
    assert rating.details["direction"] == "down"
    assert rating.details["drilldown"].startswith(f"/feedback?offer_id={offer}")
    provider = by_fingerprint["drift:drift.provider_failures.mailer"]
    assert provider.details["drilldown"].startswith("/fulfilment?provider=mailer")
