"""The demo business's history, written the way real history would arrive.

Ideas, offers, customers and orders go through the offers service. Money goes through Stripe:
a Stripe stand-in's store, its clock set to each moment of the plan, records the charges,
refunds, disputes and payouts, and Governor's webhook door (revenue/webhook.py, what POST
/webhooks/stripe runs: verify the signature, store in group commits) receives every event it
recorded, signed; the inbox's system task handles them as in production. Stripe's balance
transactions (the fees, what each payout carried) are then stored as `stripe sync` stores
them, and a reconciliation compares the two. Only the agents' past tasks and their spans,
which cannot be run again in the past, are inserted directly.
"""

import asyncio
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor import jobs
from governor.config import Settings
from governor.demo.business import plan as planning
from governor.demo.business.catalog import EMAIL_DOMAIN
from governor.demo.business.history_after import record_after
from governor.demo.business.history_checkout import EXPIRES_AFTER, HistoryCheckout, left_sessions
from governor.demo.business.scenarios import get as get_scenario
from governor.demo.stripe_server import Clock, StripeStore
from governor.demo.stripe_server.webhooks import encode, sign
from governor.errors import BadInput, GovernorError
from governor.ids import new_id
from governor.models import (
    Customer,
    ExecutionTask,
    Idea,
    LedgerEntry,
    Offer,
    Order,
    StripeEvent,
    TaskSpan,
)
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.offers import lifecycle
from governor.offers import service as offers
from governor.revenue import ledger
from governor.revenue import service as revenue
from governor.revenue.orders import sync_orders_from_ledger
from governor.revenue.reconcile import Window
from governor.revenue.translate import balance_fact
from governor.revenue.webhook import Receiver, verify
from governor.storage.db import describe, session_scope

log = logging.getLogger(__name__)

CHUNK = 2000


class DatabaseNotEmpty(GovernorError):
    """The demo was asked to write into a database that already holds business data."""

    http_status = 409


@dataclass
class Summary:
    """What a demo wrote, read back from the database; `comparable()` leaves out times."""

    seed: int
    days: int
    scenario: str | None
    start: datetime
    end: datetime
    ideas: int = 0
    offers: int = 0
    customers: int = 0
    orders: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    task_types: dict[str, int] = field(default_factory=dict)
    spans: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    ai_cost_micros: int = 0
    stripe_events: int = 0
    events_unhandled: int = 0
    ledger: dict[str, int] = field(default_factory=dict)
    money: dict[str, dict[str, int]] = field(default_factory=dict)
    discrepancies: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(start=self.start.isoformat(), end=self.end.isoformat())
        return data

    def comparable(self) -> dict[str, Any]:
        """The summary without what differs between two runs of one seed (times, durations)."""
        data = self.to_dict()
        for name in ("start", "end", "seconds", "phases"):
            data.pop(name)
        return data


# Guards --------------------------------------------------------------------------------------


def business_counts(session: Session) -> dict[str, int]:
    """How many ideas, offers, customers, orders, ledger entries, Stripe events and agent
    tasks the database holds."""

    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "ideas": count(Idea),
        "offers": count(Offer),
        "customers": count(Customer),
        "orders": count(Order),
        "ledger entries": count(LedgerEntry),
        "Stripe events": count(StripeEvent),
        "agent tasks": count(ExecutionTask, ExecutionTask.kind == "agent"),
    }


def require_empty(session: Session) -> None:
    """DatabaseNotEmpty unless the database holds no business data (demo data never mixes
    with real data)."""
    held = {name: n for name, n in business_counts(session).items() if n}
    if held:
        what = ", ".join(f"{n} {name}" for name, n in held.items())
        raise DatabaseNotEmpty(
            f"The database {describe(_engine_of(session))} already holds business data ({what}); "
            "the demo never mixes simulated data into real data.",
            hint="Point GOVERNOR_DATABASE_URL at a new database, e.g. "
            "GOVERNOR_DATABASE_URL=sqlite:///var/demo.db governor db upgrade, then run "
            "governor demo again (also after a demo that stopped half-way).",
        )


def is_demo(session: Session) -> bool:
    """Whether the database holds the demo business (its customers' reserved email domain)."""
    query = select(exists().where(Customer.email.like(f"%@{EMAIL_DOMAIN}")))
    return bool(session.scalar(query))


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


# Populating ----------------------------------------------------------------------------------


def populate(
    engine: Engine,
    settings: Settings,
    *,
    seed: int = 7,
    days: int = 90,
    scenario: str | None = None,
    end: datetime | None = None,
) -> Summary:
    """Write `days` of the demo business's history up to `end` (now) into an empty database."""
    if days < 1:
        raise BadInput(f"--days must be at least 1, not {days}.")
    chosen = get_scenario(scenario)
    with session_scope(engine, readonly=True) as session:
        require_empty(session)
    began = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 3)
        return now

    plan = planning.build(seed=seed, days=days, end=end or utcnow(), scenario=chosen)
    mark = lap("plan", began)
    with session_scope(engine) as session:
        ids = _write_objects(session, plan)
    mark = lap("objects", mark)
    store = StripeStore(clock=Clock(plan.start), seed=seed)
    charges = _make_money(store, plan, ids)
    mark = lap("stripe", mark)
    _deliver(store, engine)
    mark = lap("webhooks", mark)
    # The inbox is handled with no Stripe API to ask (the live stand-in that serve --demo
    # configures knows nothing of this history): the fees come from the balance transactions
    # below. The handler runs the door queued then find nothing left to do.
    offline = settings.model_copy(update={"stripe_api_key": None, "stripe_api_base": None})
    revenue.process_inbox(engine, offline)
    _run_queued(engine)
    mark = lap("inbox", mark)
    store.clock.set(plan.end)
    with session_scope(engine) as session:
        _record_balance(session, store)
    window = Window(plan.start - planning.DAY, plan.end + timedelta(minutes=1))
    outcome = revenue.reconcile_window(engine, offline, window)  # against what is now stored
    mark = lap("reconcile", mark)
    for task in plan.all_tasks():
        task.id = new_id("task")
    with session_scope(engine) as session:
        _settle_orders(session, plan, ids, charges)
        charges.checkout.track_views(session, ids.offers, plan.seed)
        record_after(session, settings, plan, ids.orders)
        mark = lap("orders", mark)
        _write_tasks(session, plan, ids)
    mark = lap("tasks", mark)
    with session_scope(engine) as session:
        refresh_rollups(session)
        lap("rollups", mark)
    with session_scope(engine, readonly=True) as session:
        summary = summarise(session, plan, outcome.counts)
    summary.seconds = round(time.perf_counter() - began, 2)
    summary.phases = phases
    return summary


def ensure_demo(engine: Engine, settings: Settings, *, seed: int = 7, days: int = 90) -> bool:
    """Populate the demo business unless the database already holds business data; True if
    it did (serve --demo calls this at start)."""
    with session_scope(engine, readonly=True) as session:
        if any(business_counts(session).values()):
            return False
    populate(engine, settings, seed=seed, days=days)
    return True


@dataclass
class _Ids:
    ideas: dict[int, str] = field(default_factory=dict)
    offers: dict[int, str] = field(default_factory=dict)
    customers: dict[int, str] = field(default_factory=dict)
    orders: dict[int, str] = field(default_factory=dict)


def _write_objects(session: Session, plan: planning.Plan) -> _Ids:
    """Ideas, offers, customers and orders through the offers service, as agents make them."""
    ids = _Ids()
    # The session's identity map holds its objects weakly: keeping them here lets the service
    # find an order's offer and customer there instead of asking the database again.
    kept: list[Any] = []
    for idea in plan.ideas:
        kept.append(
            offers.create_idea(
                session,
                title=idea.title,
                description=idea.description,
                status=idea.status,
                created_at=idea.created_at,
            )
        )
        ids.ideas[idea.key] = kept[-1].id
    for offer in plan.offers:
        kept.append(
            offers.create_offer(
                session,
                idea_id=ids.ideas[offer.idea],
                title=offer.title,
                price_minor=offer.price_minor,
                currency=offer.currency,
                status="draft" if offer.status == "draft" else "live",
                created_at=offer.created_at,
            )
        )
        ids.offers[offer.key] = kept[-1].id
    for customer in plan.customers:
        kept.append(
            offers.create_customer(
                session,
                name=customer.name,
                email=customer.email,
                stripe_customer_id=customer.stripe_id,
                created_at=customer.created_at,
            )
        )
        ids.customers[customer.key] = kept[-1].id
    for order in plan.orders:
        ids.orders[order.key] = offers.create_order(
            session,
            offer_id=ids.offers[order.offer],
            customer_id=ids.customers[order.customer],
            created_at=order.created_at,
        ).id
    for offer in plan.offers:  # offers that stopped selling since
        if offer.status == "retired":
            lifecycle.set_status(session, ids.offers[offer.key], "retired", actor="demo",
                                 reason="stopped selling", at=offer.retired_at)  # fmt: skip
    return ids


@dataclass
class _Charges:
    """What the stand-in made of each order: its paying charge and payment intent, and the
    checkout sessions whose views are tracked afterwards."""

    checkout: HistoryCheckout
    paid_by: dict[int, tuple[str, str]] = field(default_factory=dict)


_DISPUTE_REASONS = ("fraudulent", "product_not_received", "product_unacceptable", "duplicate")


def _make_money(store: StripeStore, plan: planning.Plan, ids: _Ids) -> _Charges:
    """Every checkout session, charge, refund, dispute and payout of the plan, on the stand-in,
    in time order (demo/business/history_checkout.py pays orders through sessions)."""
    ops: list[tuple[datetime, int, str, Any]] = []
    for order in plan.orders:
        for charge in order.charges:
            ops.append((charge.at, len(ops), "charge", (order, charge)))
        if order.charges and not order.paid:
            ops.append((order.charges[-1].at + EXPIRES_AFTER, len(ops), "expire", order))
        if order.refund is not None:
            ops.append((order.refund[0], len(ops), "refund", order))
        if order.dispute is not None:
            opened, closed, _ = order.dispute
            ops.append((opened, len(ops), "dispute", order))
            if closed is not None:
                ops.append((closed - timedelta(days=2), len(ops), "review", order))
                ops.append((closed, len(ops), "close", order))
    ops += [(left.at, len(ops) + i, "left", left) for i, left in enumerate(left_sessions(plan))]
    ops += [(at, len(ops) + i, "payout", None) for i, at in enumerate(plan.payouts)]
    ops.sort(key=lambda op: (op[0], op[1]))
    made = _Charges(checkout=HistoryCheckout(store))
    disputes: dict[int, str] = {}
    titles = {o.key: o.title for o in plan.offers}
    offer_idea = {o.key: o.idea for o in plan.offers}
    customers = {c.key: c.stripe_id for c in plan.customers}
    for at, _, kind, item in ops:
        store.clock.set(at)
        when = int(at.timestamp())
        if kind == "charge":
            order, charge = item
            metadata = {
                "order_id": ids.orders[order.key],
                "offer_id": ids.offers[order.offer],
                "idea_id": ids.ideas[offer_idea[order.offer]],
            }
            ch = made.checkout.charge(order, charge, metadata, customers[order.customer],
                                      titles[order.offer])  # fmt: skip
            if charge.succeed and order.key not in made.paid_by:
                made.paid_by[order.key] = (ch["id"], ch["payment_intent"])
        elif kind == "expire":
            made.checkout.expire_unpaid(item)
        elif kind == "left":
            made.checkout.leave(item, ids.offers[item.offer], titles[item.offer])
        elif kind == "refund":
            store.refund(made.paid_by[item.key][0], item.refund[1], created=when)
        elif kind == "dispute":
            reason = _DISPUTE_REASONS[item.key % len(_DISPUTE_REASONS)]
            dispute = store.open_dispute(made.paid_by[item.key][0], reason, created=when)
            disputes[item.key] = dispute["id"]
        elif kind == "review":
            store.review_dispute(disputes[item.key], created=when)
        elif kind == "close":
            store.close_dispute(disputes[item.key], won=item.dispute[2], created=when)
        else:
            store.payout_all(created=when)
    return made


def _deliver(store: StripeStore, engine: Engine) -> int:
    """Hand every recorded event, signed with a secret of the demo's own, to Governor's webhook
    door, as POST /webhooks/stripe does (without the HTTP): verified, then stored."""
    jobs.load()  # the door queues the inbox's handler, a system task
    secret = "whsec_demo_" + secrets.token_hex(16)
    receiver = Receiver(engine)
    stored = []
    for event in reversed(store.all("events")):  # oldest first
        payload = encode(event)
        stored.append(receiver.receive(verify(payload.encode(), sign(payload, secret), [secret])))
    for done in stored:
        done.result()  # stored, or the door's error
    return len(stored)


def _record_balance(session: Session, store: StripeStore) -> None:
    """Stripe's balance transactions (the fees, and which payout carried what), as `stripe
    sync` stores them. Read from the stand-in's store rather than its list API, whose pages
    copy every object: a hundred pages of them would take ten seconds here."""
    txns = reversed(store.all("balance_transactions"))
    facts = [balance_fact(t, payout_id=store.paid_out_in(t["id"])) for t in txns]
    ledger.record_balance(session, facts, origin="api")


def _run_queued(engine: Engine) -> None:
    """Run the tasks waiting now (the inbox's handler, queued by the webhook door) to the end."""
    from governor.tasks.embedded import EmbeddedExecutor

    executor = EmbeddedExecutor(engine, concurrency=2, lease_s=30)
    try:
        asyncio.run(asyncio.wait_for(executor.run_until_idle(), timeout=600))
    finally:
        executor.close()


def _settle_orders(session: Session, plan: planning.Plan, ids: _Ids, charges: _Charges) -> None:
    """Orders from the ledger (paid, refunded, disputed, failed), then their fulfilment and its
    cost, and the business's monthly costs."""
    # Loaded once and kept (see _write_objects): the services then find them in the session.
    kept = [*session.scalars(select(Order)), *session.scalars(select(Offer))]
    sync_orders_from_ledger(session, ids.orders.values())
    if charges.paid_by:
        session.execute(
            update(table_of(Order))
            .where(table_of(Order).c.id == bindparam("order"))
            .values(stripe_payment_intent_id=bindparam("intent")),
            [
                {"order": ids.orders[key], "intent": intent}
                for key, (_, intent) in charges.paid_by.items()
            ],
        )
    offer_idea = {o.key: o.idea for o in plan.offers}
    for order in plan.orders:
        done = order.fulfilled_at
        if done is None:
            continue
        order_id = ids.orders[order.key]
        offers.mark_fulfilled(session, order_id, at=done)
        task = order.fulfilment[-1]
        offers.record_cost(
            session,
            kind="fulfilment_cost",
            amount_minor=order.cost_minor,
            currency=order.currency,
            occurred_at=done,
            order_id=order_id,
            offer_id=ids.offers[order.offer],
            idea_id=ids.ideas[offer_idea[order.offer]],
            task_id=task.id,
            description="Deliverable storage, review and email",
        )
    for kind, amount, currency, description, at in plan.costs:
        offers.record_cost(
            session,
            kind=kind,
            amount_minor=amount,
            currency=currency,
            occurred_at=at,
            description=description,
        )
    del kept


def _write_tasks(session: Session, plan: planning.Plan, ids: _Ids) -> None:
    """The agents' past tasks and their spans, inserted in bulk (they ran before today)."""
    dialect = session.get_bind().dialect.name
    tasks, spans = [], []
    for planned in plan.all_tasks():
        tasks.append(_task_row(planned, planned.id, ids))
        spans += _span_rows(planned, planned.id, dialect)
    for start in range(0, len(tasks), CHUNK):
        session.execute(table_of(ExecutionTask).insert(), tasks[start : start + CHUNK])
    for start in range(0, len(spans), CHUNK):
        session.execute(table_of(TaskSpan).insert(), spans[start : start + CHUNK])


def _task_row(task: planning.PlannedTask, task_id: str, ids: _Ids) -> dict[str, Any]:
    idea = ids.ideas.get(task.idea) if task.idea is not None else None
    offer = ids.offers.get(task.offer) if task.offer is not None else None
    order = ids.orders.get(task.order) if task.order is not None else None
    subject = {k: v for k, v in (("idea_id", idea), ("offer_id", offer), ("order_id", order)) if v}
    failed = task.status == "failed"
    return {
        "id": task_id,
        "kind": "agent",
        "type": task.type,
        "status": task.status,
        "ai_model": task.ai_model,
        "input": subject,
        "output": None if failed else _output(task, subject),
        "error": task.error,
        "traceback": f"Traceback (most recent call last):\n  ...\n{task.error}" if failed else None,
        "attempts": task.attempts,
        "max_attempts": 3,
        "idempotency_key": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "not_before": None,
        "waiting_on": 0,
        "dependents": 0,
        "timeout_s": 600.0,
        "cancel_requested": False,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "duration_ms": task.duration_ms,
        "tokens_in": task.tokens_in,
        "tokens_out": task.tokens_out,
        "tokens_cached": 0,
        "cost_micros": task.cost_micros,
        "price_version": task.price_version,
        "idea_id": idea,
        "offer_id": offer,
        "order_id": order,
    }


def _output(task: planning.PlannedTask, subject: dict[str, str]) -> dict[str, Any]:
    if task.type == "fulfill_order":
        return {
            "deliverable": f"https://storage.googleapis.com/acme-deliverables/"
            f"{subject.get('order_id')}.pdf",
            "emailed": True,
        }
    if task.type == "implement_idea":
        return {"pull_request": 100 + task.tokens_out % 900, "tests_passed": True}
    if task.type == "create_offer":
        return {"offer_id": subject.get("offer_id")}
    return {"variants": 3, "chosen": 1}


def _span_rows(task: planning.PlannedTask, task_id: str, dialect: str) -> list[dict[str, Any]]:
    trace_id = secrets.token_hex(16)
    span_ids = [secrets.token_hex(8) for _ in task.spans]
    rows = []
    for index, span in enumerate(task.spans):
        attributes = {
            k: v.replace("{db}", dialect) if isinstance(v, str) else v
            for k, v in span.attributes.items()
        }
        rows.append(
            {
                "task_id": task_id,
                "trace_id": trace_id,
                "span_id": span_ids[index],
                "parent_span_id": None if span.parent is None else span_ids[span.parent],
                "name": span.name.replace("{db}", dialect),
                "kind": span.kind,
                "started_at": task.started_at + timedelta(microseconds=span.start_us),
                "duration_us": span.duration_us,
                "attributes": attributes,
            }
        )
    return rows


def refresh_rollups(session: Session) -> bool:
    """Fold the days the new rows touched into the analytics rollups, when analytics exists."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("governor.analytics") is None:
        return False
    if importlib.util.find_spec("governor.analytics.rollups") is None:
        return False
    importlib.import_module("governor.analytics.rollups").refresh(session)
    return True


# Reading back --------------------------------------------------------------------------------


def summarise(session: Session, plan: planning.Plan, discrepancies: dict[str, int]) -> Summary:
    """What the database now holds of the demo business."""
    T, L = ExecutionTask, LedgerEntry
    summary = Summary(plan.seed, plan.days, plan.scenario, plan.start, plan.end)
    summary.ideas = session.scalar(select(func.count()).select_from(Idea)) or 0
    summary.offers = session.scalar(select(func.count()).select_from(Offer)) or 0
    summary.customers = session.scalar(select(func.count()).select_from(Customer)) or 0
    summary.orders = _grouped(session, Order.status)
    agents = T.kind == "agent"
    summary.tasks = _grouped(session, T.status, agents)
    summary.task_types = _grouped(session, T.type, agents)
    summary.spans = session.scalar(select(func.count()).select_from(TaskSpan)) or 0
    tokens_in, tokens_out, cost = session.execute(
        select(
            func.coalesce(func.sum(T.tokens_in), 0),
            func.coalesce(func.sum(T.tokens_out), 0),
            func.coalesce(func.sum(T.cost_micros), 0),
        ).where(agents)
    ).one()
    summary.tokens_in, summary.tokens_out = int(tokens_in or 0), int(tokens_out or 0)
    summary.ai_cost_micros = int(cost or 0)
    summary.stripe_events = session.scalar(select(func.count()).select_from(StripeEvent)) or 0
    summary.events_unhandled = (
        session.scalar(
            select(func.count()).select_from(StripeEvent).where(StripeEvent.handled_at.is_(None))
        )
        or 0
    )
    summary.ledger = _grouped(session, L.kind)
    summary.money = money_by_currency(session)
    summary.discrepancies = {
        k: v
        for k, v in discrepancies.items()
        if v and k not in ("stripe_transactions", "ledger_entries")
    }
    return summary


def _grouped(session: Session, column: Any, *where: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column)).all()
    return {str(key): int(n) for key, n in sorted(rows)}


MONEY_KINDS = {
    "charges": ("charge",),
    "refunds": ("refund",),
    "fees": ("fee", "stripe_fee"),
    "disputes": ("dispute", "dispute_reversal"),
    "costs": ("fulfilment_cost", "other_cost"),
}


def money_by_currency(session: Session) -> dict[str, dict[str, int]]:
    """Per currency: gross charges, refunds, fees, disputes, costs and what is left (net), in
    minor units; money that did not move (failed charges) is left out."""
    L = LedgerEntry
    rows = session.execute(
        select(L.currency, L.kind, func.sum(L.amount_minor))
        .where(L.status.not_in(("failed", "canceled", "pending")))
        .group_by(L.currency, L.kind)
    ).all()
    money: dict[str, dict[str, int]] = {}
    for currency, kind, amount in rows:
        for name, kinds in MONEY_KINDS.items():
            if kind in kinds:
                sums = money.setdefault(currency, dict.fromkeys(MONEY_KINDS, 0))
                sums[name] += int(amount)
    for sums in money.values():
        sums["net"] = sum(sums[name] for name in MONEY_KINDS)
    return dict(sorted(money.items()))
