"""The friction checks on a real database: SLA, providers, abandonment, ratings."""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.audits import checks_friction  # noqa: F401  (registers the checks)
from governor.audits.checks import CHECKS, AuditContext, CheckResult, run_check
from governor.config import get_settings
from governor.ids import new_id
from governor.models import CheckoutSession, Feedback, Fulfilment, Offer, Order
from governor.models.types import utcnow
from governor.storage.db import session_scope
from governor.storage.guard import check_schema
from tests.factories import make_order

NOW = utcnow()


def judge(engine: Engine, name: str) -> CheckResult:
    """Run one check over the last day."""
    context = AuditContext(engine, get_settings(), NOW, check_schema(engine), timedelta(days=1))
    return run_check(CHECKS[name], context)


def test_a_paid_order_past_its_offers_sla_fails_and_one_within_it_does_not(migrated: Engine):
    late, fresh = make_order(migrated), make_order(migrated)
    with session_scope(migrated) as session:
        for ids, paid in ((late, NOW - timedelta(hours=3)), (fresh, NOW - timedelta(minutes=5))):
            session.get(Offer, ids["offer"]).fulfilment_sla_minutes = 60
            order = session.get(Order, ids["order"])
            order.status, order.paid_at = "paid", paid
    result = judge(migrated, "fulfilment_sla")
    assert not result.passed
    assert [o["order_id"] for o in result.evidence["orders"]] == [late["order"]]
    assert f"{late['order']} (offer {late['offer']}), was paid 3 h ago" in result.summary
    with session_scope(migrated) as session:
        session.get(Order, late["order"]).fulfilled_at = NOW
        session.get(Order, late["order"]).status = "fulfilled"
    assert judge(migrated, "fulfilment_sla").passed


def _steps(engine: Engine, provider: str, outcomes: list[tuple[str, int, int]]) -> None:
    """Fulfilment steps of one provider finished an hour ago: (status, attempts, 429s)."""
    with session_scope(engine) as session:
        for status, attempts, throttled in outcomes:
            order = make_order(engine)["order"]
            session.add(Fulfilment(
                id=new_id("ful"), order_id=order, step="deliver", provider=provider,
                idempotency_key=f"{order}:deliver", status=status, attempts=attempts,
                throttled=throttled, created_at=NOW - timedelta(hours=2),
                finished_at=NOW - timedelta(hours=1),
            ))  # fmt: skip


def test_a_provider_failing_first_attempts_or_throttling_is_named(migrated: Engine):
    _steps(migrated, "mailer", [("done", 1, 0)] * 19 + [("done", 2, 0)])  # 5%: healthy
    _steps(migrated, "shipper", [("done", 1, 0)] * 18 + [("done", 3, 0), ("failed", 5, 0)])
    _steps(migrated, "licences", [("done", 2, 1)] * 2 + [("done", 1, 0)] * 18)  # 2 of 22 calls
    _steps(migrated, "rare", [("failed", 5, 5)] * 3)  # too few to judge
    result = judge(migrated, "fulfilment_providers")
    assert result.passed  # 10% is the limit itself: only more fails
    assert result.evidence["providers"]["shipper"]["first_attempt_failure_rate"] == 0.1
    _steps(migrated, "shipper", [("done", 2, 0)] * 5)
    _steps(migrated, "licences", [("done", 4, 3)] * 4)
    result = judge(migrated, "fulfilment_providers")
    assert not result.passed
    assert result.summary == (
        "Provider licences fails 25% of first attempts (6 of 24 steps, 0 gave up); "
        "provider licences answers 429 to 37% of calls (14 of 38); "
        "provider shipper fails 28% of first attempts (7 of 25 steps, 1 gave up)."
    )
    assert "mailer" not in result.summary and "rare" not in result.summary


def _sessions(engine: Engine, offer: str, ago: timedelta, count: int, lost: int) -> None:
    """`count` sessions of an offer ended `ago`, `lost` of them expired at the payment step."""
    with session_scope(engine) as session:
        for i in range(count):
            at = NOW - ago + timedelta(seconds=i)
            expired = i < lost
            session.add(CheckoutSession(
                id=new_id("cs"), offer_id=offer, status="expired" if expired else "complete",
                payment_status="unpaid" if expired else "paid",
                payment_intent_id=new_id("pi"), created_at=at - timedelta(minutes=10),
                completed_at=None if expired else at, expired_at=at if expired else None,
                event_at=at,
            ))  # fmt: skip


def test_abandonment_at_the_payment_step_against_its_usual_level(migrated: Engine):
    steady, broken = make_order(migrated)["offer"], make_order(migrated)["offer"]
    for offer in (steady, broken):
        for day in range(2, 8):  # the usual: 2 of 25 (8%)
            _sessions(migrated, offer, timedelta(days=day), 25, 2)
    _sessions(migrated, steady, timedelta(hours=5), 25, 3)  # 12%: within the usual range
    _sessions(migrated, broken, timedelta(hours=5), 34, 14)  # 41%
    result = judge(migrated, "checkout_abandonment")
    assert not result.passed
    day = (NOW - timedelta(hours=5)).strftime("%-d %b")
    assert result.summary == (
        f"Offer {broken} (Resume rewrite) loses 41% of buyers at the payment step since {day} "
        "(usually 8%; 14 of 34 sessions)."
    )
    assert result.evidence["offers"][steady]["rate"] == 0.12


def test_ratings_falling_or_low_fail_and_few_ratings_are_not_judged(migrated: Engine):
    def rate(offer_ids: dict[str, str], ago: timedelta, ratings: list[int]) -> None:
        with session_scope(migrated) as session:
            for rating in ratings:
                order = make_order(migrated)["order"]
                session.add(Feedback(id=new_id("fb"), order_id=order, rating=rating,
                                     offer_id=offer_ids["offer"], source="api",
                                     created_at=NOW - ago))  # fmt: skip

    fine, falling, few = make_order(migrated), make_order(migrated), make_order(migrated)
    rate(fine, timedelta(days=3), [5, 4, 5, 4, 5])
    rate(fine, timedelta(hours=2), [4, 5, 4, 5, 4])
    rate(falling, timedelta(days=3), [5, 5, 4, 5, 5])
    rate(falling, timedelta(hours=2), [4, 3, 4, 3, 4])  # 3.6 against 4.8
    rate(few, timedelta(hours=2), [1, 1])
    result = judge(migrated, "ratings")
    assert not result.passed
    assert result.summary == (f"Offer {falling['offer']} (Resume rewrite) is rated 3.6 of 5 by 5 "
                              "customers (usually 4.8).")  # fmt: skip
    with session_scope(migrated, readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 22
