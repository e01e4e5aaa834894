"""`demo --scale … --sessions N`: checkout sessions with their views, orders, fulfilment steps
and ratings, in plausible ratios that the funnel reads back."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from governor.demo.business.scale import populate_scale
from governor.models import CheckoutSession, Feedback, Fulfilment, FunnelEvent, Order
from governor.offers.friction import Cohort, funnel
from governor.storage.db import session_scope

END = datetime(2026, 11, 30, tzinfo=UTC)


def test_scale_writes_a_funnel_in_plausible_ratios(migrated: Engine) -> None:
    result = populate_scale(migrated, rows=200, seed=3, days=20, end=END, sessions=4000)
    assert result.checkout_sessions == 4000
    with session_scope(migrated, readonly=True) as session:
        linked = session.scalar(select(func.count()).select_from(Order)
                                .where(Order.checkout_session_id.is_not(None)))  # fmt: skip
        steps = session.scalar(select(func.count()).select_from(Fulfilment))
        ratings = session.scalar(select(func.count()).select_from(Feedback))
        sessions = session.scalar(select(func.count()).select_from(CheckoutSession))
        views = session.scalar(select(func.count()).select_from(FunnelEvent)
                               .where(FunnelEvent.step == "offer_viewed"))  # fmt: skip
        everything = Cohort(END - timedelta(days=30), END, 0)
        figures = funnel(session, everything, END, peak_offers=3)
    assert sessions == 4000 and linked == result.funnel_orders == steps
    assert ratings == result.feedback
    started = sum(o.step("started").count for o in figures.offers)
    paid = sum(o.step("paid").count for o in figures.offers)
    fulfilled = sum(o.step("fulfilled").count for o in figures.offers)
    assert started == 4000
    viewed = sum(o.step("viewed").count for o in figures.offers)
    assert viewed == views == result.funnel_events  # every view written is read back
    assert 1.5 < viewed / started < 2.2  # views per session
    assert 0.55 < paid / started < 0.75
    assert 0.9 < fulfilled / paid <= 1
    assert 0.2 < ratings / fulfilled < 0.4
    rates = sorted((o.payment_abandonment_rate or 0, o.offer_id) for o in figures.offers
                   if o.sessions > 100)  # fmt: skip
    assert rates[-1][0] > 2 * rates[0][0]  # one offer loses many more buyers at the payment step
    assert {p.provider for p in figures.providers} == {"mailer", "licence-keys", "shipper"}
    assert all(p.throttled > 0 for p in figures.providers)
    assert all(o.time_to_pay_s["p50"] < o.time_to_pay_s["p99"] for o in figures.offers
               if o.sessions > 100)  # fmt: skip


def test_the_command_writes_sessions_with_scale(migrated: Engine, cli) -> None:
    result = cli("demo", "--scale", "100", "--sessions", "300", "--days", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checkout_sessions"] == 300
    refused = cli("demo", "--scale", "100", "--sessions", "-1")
    assert refused.exit_code != 0 and "--sessions must be 0 or more" in refused.output
