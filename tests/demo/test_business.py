"""The demo business: its history through Governor's webhook path on SQLite and PostgreSQL, the
same business for the same seed, refusing real data, the live business, --scale."""

import asyncio
import importlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from governor.cli.demo import demo
from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.demo.business import handlers, plan, scenarios
from governor.demo.business.history import DatabaseNotEmpty, populate
from governor.demo.business.live import LiveBusiness, new_webhook_secret
from governor.demo.business.scale import populate_scale
from governor.errors import BadInput
from governor.models import (
    CheckoutSession,
    ExecutionTask,
    Fulfilment,
    FunnelEvent,
    LedgerDaily,
    LedgerEntry,
    Order,
    RollupChange,
    StripeEvent,
    TaskDaily,
    TaskSpan,
)
from governor.offers import service as offers
from governor.offers.friction import Cohort, funnel
from governor.storage.db import create_engine, get_engine, session_scope
from governor.storage.guard import check_schema
from governor.storage.migrate import migrate
from governor.tasks import registry
from governor.tasks import service as tasks_service
from governor.tasks.embedded import EmbeddedExecutor
from governor.web.app import create_app
from tests.factories import insert_entry

END = datetime(2026, 11, 27, 15, 45, tzinfo=UTC)  # a Friday afternoon


def count(engine: Engine, model: type, *where: object) -> int:
    with session_scope(engine, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_the_history_arrives_through_stripe_webhooks(migrated: Engine, configure):
    # As under serve --demo, Governor's Stripe API is another stand-in (here: nobody), which
    # knows nothing of this history: the history must not depend on it.
    configure(stripe_api_key="sk_test_elsewhere", stripe_api_base="http://127.0.0.1:9")
    summary = populate(migrated, get_settings(), seed=3, days=4, end=END)
    # Every Stripe event was handed, signed, to Governor's webhook door, and handled.
    assert summary.stripe_events > 20 and summary.events_unhandled == 0
    assert count(migrated, StripeEvent, StripeEvent.origin == "webhook") == summary.stripe_events
    with session_scope(migrated, readonly=True) as session:
        charged = {
            row.order_id: row
            for row in session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "charge"))
        }
        orders = list(session.scalars(select(Order)))
        assert orders and {o.status for o in orders} <= {
            "paid", "fulfilled", "failed", "refunded", "disputed"}  # fmt: skip
        for order in orders:
            entry = charged[order.id]  # the charge's metadata linked it to its order
            if order.status != "failed":
                assert order.stripe_charge_id is not None and order.paid_at is not None
                paid = session.scalar(
                    select(LedgerEntry).where(
                        LedgerEntry.kind == "charge",
                        LedgerEntry.source_ref == order.stripe_charge_id,
                    )
                )
                assert paid is not None and paid.status == "succeeded"
                assert (paid.order_id, paid.offer_id) == (order.id, order.offer_id)
                assert summary.start <= paid.occurred_at <= END  # history on its own days
            else:
                assert entry.status == "failed"
        # Fees came from Stripe's balance transactions; fulfilment costs name their task.
        fee = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "fee").limit(1))
        assert fee is not None and fee.order_id is not None and fee.amount_minor < 0
        cost = session.scalar(
            select(LedgerEntry).where(LedgerEntry.kind == "fulfilment_cost").limit(1)
        )
        assert cost is not None and cost.task_id is not None
        task = session.get(ExecutionTask, cost.task_id)
        assert task is not None and task.type == "fulfill_order" and task.order_id == cost.order_id
        spans = session.scalars(select(TaskSpan).where(TaskSpan.task_id == task.id)).all()
        assert 3 <= len(spans) <= 8 and {s.kind for s in spans} >= {"db", "llm", "internal"}
        assert all(task.started_at <= s.started_at <= task.finished_at for s in spans)
    assert summary.money["usd"]["charges"] > 0 and summary.tokens_in > 0
    assert summary.ai_cost_micros > 0 and summary.task_types["fulfill_order"] > 0


@pytest.fixture
def sqlite_db(tmp_path: Path, configure) -> Engine:
    """A migrated SQLite database, configured: for what one kind of database shows as well."""
    configure(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    engine = get_engine()
    migrate(engine, "upgrade", "head", backup=False)
    return engine


def test_the_history_sells_through_checkout_and_its_funnel_can_be_read(migrated: Engine):
    populate(migrated, get_settings(), seed=3, days=21, end=END)
    with session_scope(migrated, readonly=True) as session:
        paid = session.scalars(select(Order).where(Order.paid_at.is_not(None))).all()
        assert paid and all(o.checkout_session_id for o in paid)  # each paid through Checkout
        expired = session.scalars(select(CheckoutSession).where(
            CheckoutSession.status == "expired")).all()  # fmt: skip
        assert any(cs.payment_intent_id for cs in expired)  # declined, then abandoned
        assert any(cs.payment_intent_id is None for cs in expired)  # left before paying
        cohort = Cohort.of(END - timedelta(days=14), END, END, 7)
        figures = funnel(session, cohort, END, peak_offers=3)
    sold = [o for o in figures.offers if o.steps and o.steps[2].count]
    assert sold
    for offer in sold:  # viewed ≥ started ≥ paid ≥ fulfilled ≥ rated, every step counted
        counts = [step.count for step in offer.steps]
        assert counts == sorted(counts, reverse=True) and counts[0] > counts[1]
    assert sum(o.steps[-1].count for o in sold) > 0  # some customers rated their orders


def test_the_same_seed_makes_the_same_business(tmp_path: Path, sqlite_db: Engine):
    other = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other, "upgrade", "head", backup=False)
    try:
        first = populate(sqlite_db, get_settings(), seed=11, days=2, end=END)
        second = populate(other, get_settings(), seed=11, days=2, end=END)
    finally:
        other.dispose()
    assert first.comparable() == second.comparable()
    assert sum(first.orders.values()) > 3 and first.money
    # Another seed is another business; the plan alone shows it.
    again = plan.build(seed=11, days=30, end=END)
    assert [(o.amount_minor, o.currency) for o in again.orders] == [
        (o.amount_minor, o.currency) for o in plan.build(seed=11, days=30, end=END).orders
    ]
    assert len(plan.build(seed=12, days=30, end=END).orders) != len(again.orders)


def test_a_database_with_business_data_is_refused(migrated: Engine):
    with session_scope(migrated) as session:
        offers.create_idea(session, title="A real idea")
    for write in (lambda: populate(migrated, get_settings(), days=1),
                  lambda: populate_scale(migrated, rows=10)):  # fmt: skip
        with pytest.raises(DatabaseNotEmpty, match="1 ideas") as refused:
            write()
        assert refused.value.exit_code == 2 and "new database" in (refused.value.hint or "")
    assert count(migrated, Order) == 0


def test_scenarios_change_the_last_days():
    doubled = plan.build(seed=5, days=10, end=END, scenario=scenarios.get("double-charge"))
    assert any(sum(c.succeed for c in o.charges) == 2 for o in doubled.orders)
    assert not any(
        sum(c.succeed for c in o.charges) == 2 for o in plan.build(seed=5, days=10, end=END).orders
    )
    with pytest.raises(BadInput, match="Unknown scenario 'meteor'"):
        scenarios.get("meteor")


def test_scale_writes_rows_in_bulk(migrated: Engine):
    result = populate_scale(migrated, rows=2000, seed=1, days=5, end=END)
    assert (result.ledger_entries, result.tasks) == (2000, 2000)
    assert count(migrated, LedgerEntry) == 2000 and count(migrated, ExecutionTask) == 2000
    assert count(migrated, Order) == result.orders > 500
    assert 0 < result.rollup_changes <= 2 * 24 * 6  # each hour logged once, not each row
    assert check_schema(migrated).problems == []  # the triggers are back after the load
    insert_entry(migrated, occurred_at=END - timedelta(hours=1), amount_minor=1)
    with session_scope(migrated, readonly=True) as session:  # the rollups agree with the rows
        rolled = (session.scalar(select(func.sum(LedgerDaily.amount_minor))),
                  session.scalar(select(func.sum(TaskDaily.tasks))))  # fmt: skip
        raw = session.execute(select(func.sum(LedgerEntry.amount_minor))).scalar_one()
        pending = session.scalar(select(func.count()).select_from(RollupChange))
    assert rolled == (raw - 1, 2000) and pending == 1  # the trigger saw the new entry
    with session_scope(migrated, readonly=True) as session:
        kinds = dict(session.execute(
            select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)).all())  # fmt: skip
        currencies = set(session.scalars(select(LedgerEntry.currency).distinct()))
        first, last = session.execute(
            select(func.min(ExecutionTask.created_at), func.max(ExecutionTask.finished_at))
        ).one()
        linked = session.scalar(select(func.count()).select_from(ExecutionTask).where(
            ExecutionTask.order_id.in_(select(Order.id))))  # fmt: skip
    assert {"charge", "fee", "fulfilment_cost"} <= set(kinds) and currencies == {"usd", "eur"}
    assert kinds["charge"] > kinds["fee"]  # some charges failed
    assert first >= END.replace(day=22) and last <= END
    assert linked and result.spans > 0


def test_the_command_prints_json(sqlite_db: Engine):
    app = typer.Typer()
    app.command()(demo)
    result = CliRunner().invoke(app, ["--scale", "300", "--days", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ledger_entries"] == 300
    again = CliRunner().invoke(app, ["--days", "1"])
    assert isinstance(again.exception, DatabaseNotEmpty)


@pytest.fixture
def demo_handlers() -> Iterator[None]:
    """The demo's task types, registered afresh (another test may have removed one)."""
    importlib.reload(handlers)
    yield
    for type in ("fulfill_order", "implement_idea", "create_offer", "write_copy"):
        registry.unregister(type)


def test_the_live_business_sells_through_checkout_and_governor_fulfils_it(
    migrated: Engine, configure, demo_handlers: None
):
    configure(stripe_webhook_secrets=new_webhook_secret())
    settings = get_settings()
    populate(migrated, settings, seed=2, days=1)
    with BackgroundServer(create_app(settings), lifespan="on") as governor:
        live = LiveBusiness(settings, migrated, f"{governor.url}/webhooks/stripe", seed=2,
                            interval_s=0.2).start()  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not {"agent:fulfill_order", "127.0.0.1"} <= _done_by(migrated):
                assert time.monotonic() < deadline, f"live orders not fulfilled: {live.orders}"
                time.sleep(0.2)
            fulfilled = _fulfilled(migrated, live.orders)
        finally:
            live.stop()
    with session_scope(migrated, readonly=True) as session:
        for order_id in fulfilled:
            order = session.get_one(Order, order_id)
            assert order.paid_at is not None and order.stripe_charge_id
            cs = session.get_one(CheckoutSession, order.checkout_session_id)  # came from Checkout
            assert cs.status == "complete" and cs.order_id == order.id
            steps = session.scalars(select(Fulfilment).where(Fulfilment.order_id == order.id))
            for step in steps:  # an agent's task may fulfil its order before its step settles
                assert step.status == "done" or (step.provider.startswith("agent:")
                                                 and step.status == "running")  # fmt: skip
        providers = set(session.scalars(select(Fulfilment.provider).distinct()))
        assert providers <= {"127.0.0.1", "localhost", "agent:fulfill_order"}
        started = session.scalar(select(func.count()).select_from(FunnelEvent)
                                 .where(FunnelEvent.step == "checkout_started"))  # fmt: skip
        assert started and started >= len(fulfilled)
        agent = session.scalars(select(ExecutionTask).where(
            ExecutionTask.type == "fulfill_order", ExecutionTask.order_id.in_(live.orders),
            ExecutionTask.status == "succeeded")).first()  # fmt: skip
        assert agent is not None  # an order the agents fulfilled: its model, tokens and cost
        assert agent.tokens_in > 0 and agent.ai_model in ("gpt-4o-mini", "gpt-4o")


def _done_by(engine: Engine) -> set[str]:
    """The providers of the fulfilment steps done so far."""
    with session_scope(engine, readonly=True) as session:
        query = select(Fulfilment.provider).where(Fulfilment.status == "done").distinct()
        return set(session.scalars(query))


def _fulfilled(engine: Engine, order_ids: list[str]) -> list[str]:
    if not order_ids:
        return []
    with session_scope(engine, readonly=True) as session:
        query = select(Order.id).where(Order.id.in_(order_ids), Order.fulfilled_at.is_not(None))
        return list(session.scalars(query))


def test_the_create_offer_task_is_named_by_the_offers_it_makes_and_puts_live(
    migrated: Engine, demo_handlers: None
):
    with session_scope(migrated) as session:
        fresh = offers.create_idea(session, title="Logo maker", status="building").id
        drafted = offers.create_idea(session, title="CV checker", status="building").id
        draft = offers.create_offer(session, idea_id=drafted, title="CV check", price_minor=900,
                                    currency="usd", status="draft").id  # fmt: skip
        made_by = {
            idea: tasks_service.submit(session, "create_offer", {"idea_id": idea}, idea_id=idea)
            for idea in (fresh, drafted)
        }
    executor = EmbeddedExecutor(migrated, concurrency=2, lease_s=5)
    try:
        asyncio.run(asyncio.wait_for(executor.run_until_idle(), timeout=60))
    finally:
        executor.close()
    with session_scope(migrated, readonly=True) as session:
        (made,) = offers.list_offers(session, idea_id=fresh)
        assert made.created_by_task_id == made_by[fresh]
        assert [h.actor for h in offers.get_offer(session, made.id).history] == [
            f"task:{made_by[fresh]}"
        ]
        went_live = offers.get_offer(session, draft)
    assert went_live.status == "live" and went_live.created_by_task_id is None
    assert [(h.to_status, h.actor) for h in went_live.history] == [
        ("draft", "system"), ("live", f"task:{made_by[drafted]}")]  # fmt: skip
