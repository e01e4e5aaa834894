"""Friction figures on a hand-built funnel whose answers are known, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from governor.errors import BadInput
from governor.offers.friction import Cohort, funnel
from governor.offers.funnel_rows import step_rows
from governor.storage.db import session_scope
from tests.offers import funnel_data
from tests.offers.funnel_data import NOW


def figures(engine: Engine, offer_id: str | None = None):  # type: ignore[no-untyped-def]
    cohort = Cohort.of(NOW - timedelta(days=30), NOW, NOW, 7)
    with session_scope(engine, readonly=True) as session:
        return funnel(session, cohort, NOW, peak_offers=3, offer_id=offer_id)


def test_the_cohort_ends_a_window_before_now_and_keeps_its_length() -> None:
    cohort = Cohort.of(NOW - timedelta(days=30), NOW, NOW, 7)
    assert (cohort.start, cohort.end) == (NOW - timedelta(days=37), NOW - timedelta(days=7))
    past = Cohort.of(NOW - timedelta(days=60), NOW - timedelta(days=40), NOW, 7)
    assert past.end == NOW - timedelta(days=40)


def test_steps_count_only_cohorts_that_had_their_full_window(migrated: Engine) -> None:
    ids = funnel_data.build(migrated)
    offer = figures(migrated).offer(ids["offer"])
    assert offer is not None
    # the young views and session are left out; an untracked start counts, a tracked one once
    assert [(s.key, s.count) for s in offer.steps] == [
        ("viewed", 10), ("started", 9), ("paid", 5), ("fulfilled", 3), ("rated", 2)]  # fmt: skip
    paid = offer.step("paid")
    assert (paid.dropped, paid.drop_rate) == (4, pytest.approx(4 / 9))
    assert offer.step("rated").conversion == pytest.approx(2 / 3)


def test_abandonment_payment_step_async_failures_and_recoveries(migrated: Engine) -> None:
    ids = funnel_data.build(migrated)
    offer = figures(migrated).offer(ids["offer"])
    assert offer is not None
    assert (offer.sessions, offer.abandoned, offer.abandoned_at_payment) == (8, 2, 1)
    assert offer.abandonment_rate == pytest.approx(0.25)
    assert offer.payment_abandonment_rate == pytest.approx(1 / 7)  # 7 sessions had an intent
    assert (offer.async_payment_failed, offer.recovered) == (1, 1)
    assert offer.abandoned_minor == 9800
    assert offer.refunded_after_failure_minor == 4900


def test_time_to_pay_and_to_fulfil_percentiles(migrated: Engine) -> None:
    ids = funnel_data.build(migrated)
    offer = figures(migrated).offer(ids["offer"])
    assert offer is not None
    assert offer.time_to_pay_s == {"p50": 180.0, "p95": 600.0, "p99": 600.0}
    assert offer.time_to_fulfil_s == {"p50": 200.0, "p95": 300.0, "p99": 300.0}


def test_fulfilment_refunds_and_feedback(migrated: Engine) -> None:
    ids = funnel_data.build(migrated)
    offer = figures(migrated).offer(ids["offer"])
    assert offer is not None
    assert offer.fulfilment_steps == 5
    assert offer.first_attempt_failure_rate == pytest.approx(0.6)
    assert offer.eventual_failure_rate == pytest.approx(0.2)
    assert offer.action_required_rate == pytest.approx(0.2)
    assert offer.retries_per_order == pytest.approx(1.2)
    assert (offer.refunds_per_100, offer.disputes_per_100) == (33.33, 0.0)
    assert offer.feedback_response_rate == pytest.approx(2 / 3)
    assert offer.mean_rating == 3.5


def test_providers_failures_and_429s_on_offer_creation_peaks(migrated: Engine) -> None:
    funnel_data.build(migrated)
    result = figures(migrated)
    assert result.peak_days == [(NOW - timedelta(days=10)).date().isoformat()]
    mailer, shipper = result.providers
    assert (mailer.provider, mailer.steps, mailer.first_attempt_failures) == ("mailer", 3, 1)
    assert (mailer.throttled, mailer.steps_peak, mailer.throttled_peak) == (2, 2, 2)
    assert (mailer.throttled_per_step_peak, mailer.throttled_per_step_off_peak) == (1.0, 0.0)
    assert (shipper.failures, shipper.action_required, shipper.calls_ended_429) == (1, 1, 1)


def test_a_step_lists_its_sessions_and_orders_with_stripe_ids(migrated: Engine) -> None:
    ids = funnel_data.build(migrated)
    cohort = Cohort.of(NOW - timedelta(days=30), NOW, NOW, 7)
    with session_scope(migrated, readonly=True) as session:
        lost = step_rows(session, ids["offer"], "abandoned_at_payment", cohort, limit=10, offset=0)
        rated = step_rows(session, ids["offer"], "rated", cohort, limit=10, offset=0)
        page = step_rows(session, ids["offer"], "started", cohort, limit=3, offset=6)
        with pytest.raises(BadInput, match="Unknown funnel step 'bought'"):
            step_rows(session, ids["offer"], "bought", cohort, limit=10, offset=0)
    assert [(r.session_id, r.payment_intent_id) for r in lost] == [("cs_s5", "pi_cs_s5")]
    assert sorted((r.order_id, r.charge_id, r.rating) for r in rated) == [
        ("order_s1", "ch_s1", 5), ("order_s2", "ch_s2", 2)]  # fmt: skip
    assert len(page) == 2  # 8 sessions: the third page of three holds two


def test_one_offer_alone(migrated: Engine) -> None:
    ids = funnel_data.build(migrated)
    result = figures(migrated, ids["offer"])
    assert [o.offer_id for o in result.offers] == [ids["offer"]]
