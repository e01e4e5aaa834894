"""`governor demo --scale N`: N agent tasks and N ledger entries over the demo's days, in bulk.

Benchmarks need volume more than a story, so nothing here goes through Stripe or the task
engine: a few ideas and offers are made through the offers service, then orders, ledger
entries and tasks are drawn from one seeded generator and written with `executemany`, a
transaction per chunk. The rows look like the demo's: its task types, models, prices and
token ranges; charges with their fees, failures, refunds, disputes, payouts and costs, in
USD and EUR.

Rows are made in time order with ids and Stripe ids that grow with it, so every index of the
two tables (times, ids, kind + source_ref …) is appended to rather than written all over:
on SQLite that halves the cost of a row. The statements are plain SQL with values already in
the driver's form: SQLAlchemy's per-value type processing cost more than the database.
"""

import base64
import bisect
import itertools
import json
import os
import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import Engine

from governor.analytics import rollups
from governor.demo.business import plan as planning
from governor.demo.business.catalog import ERRORS, IDEAS, TASKS
from governor.demo.business.history import refresh_rollups, require_empty
from governor.demo.business.scale_funnel import TABLES as FUNNEL_TABLES
from governor.demo.business.scale_funnel import funnel_rows
from governor.errors import BadInput
from governor.ids import _base32
from governor.models import ExecutionTask, LedgerEntry, Order, RollupChange, TaskSpan
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.offers import service as offers
from governor.storage.db import session_scope
from governor.tasks.usage import price_call

CHUNK = 50_000
"""Rows written per transaction."""
SQLITE_CACHE_KIB = 262_144
"""SQLite's page cache while loading (256 MiB, up from its default 2 MiB), so that the pages
of the indexes being appended to stay in memory."""
SPAN_EVERY = 1000
"""One task in this many gets spans, so that profiles have something to read."""
TYPES = (
    ("fulfill_order", 0.70),
    ("write_copy", 0.15),
    ("implement_idea", 0.04),
    ("create_offer", 0.04),
    ("revenue.process_events", 0.05),
    ("revenue.reconcile", 0.02),
)
STATUSES = (("succeeded", 0.955), ("failed", 0.03), ("skipped", 0.01), ("cancelled", 0.005))
DURATION_MS = {
    "fulfill_order": (4_000, 60_000),
    "write_copy": (3_000, 20_000),
    "implement_idea": (60_000, 600_000),
    "create_offer": (10_000, 60_000),
    "revenue.process_events": (20, 2_000),
    "revenue.reconcile": (500, 30_000),
}
GROWTH = 0.75
"""Rows at time fraction x of the window grow like x^(1/GROWTH - 1): more of them lately."""

ORDER_COLUMNS = ("id", "offer_id", "customer_id", "amount_minor", "currency", "status",
                 "stripe_charge_id", "stripe_payment_intent_id", "created_at", "paid_at",
                 "fulfilled_at")  # fmt: skip
LEDGER_COLUMNS = ("id", "kind", "amount_minor", "currency", "status", "occurred_at", "source",
                  "source_ref", "balance_transaction_id", "charge_id", "order_id", "offer_id",
                  "idea_id", "task_id", "description", "watermark", "event_id", "created_at",
                  "updated_at")  # fmt: skip
TASK_COLUMNS = ("id", "kind", "type", "status", "ai_model", "input", "output", "error",
                "traceback", "attempts", "max_attempts", "idempotency_key", "lease_owner",
                "lease_expires_at", "not_before", "waiting_on", "dependents", "timeout_s",
                "cancel_requested", "created_at", "started_at", "finished_at", "duration_ms",
                "tokens_in", "tokens_out", "tokens_cached", "cost_micros", "price_version",
                "idea_id", "offer_id", "order_id")  # fmt: skip
SPAN_COLUMNS = ("task_id", "trace_id", "span_id", "parent_span_id", "name", "kind",
                "started_at", "duration_us", "attributes")  # fmt: skip
TABLES = {
    "order": (table_of(Order).name, ORDER_COLUMNS),
    "ledger": (table_of(LedgerEntry).name, LEDGER_COLUMNS),
    "task": (table_of(ExecutionTask).name, TASK_COLUMNS),
    "span": (table_of(TaskSpan).name, SPAN_COLUMNS),
    **FUNNEL_TABLES,
}
Row = tuple[str, tuple[Any, ...]]
Chunk = dict[str, list[tuple[Any, ...]]]
Offer = tuple[str, str, str, int]  # offer id, idea id, currency, price


@dataclass
class ScaleSummary:
    """What --scale wrote and how long each part took, in seconds."""

    rows: int
    days: int
    seed: int
    ideas: int = 0
    offers: int = 0
    orders: int = 0
    ledger_entries: int = 0
    tasks: int = 0
    spans: int = 0
    checkout_sessions: int = 0
    funnel_events: int = 0
    funnel_orders: int = 0
    fulfilments: int = 0
    feedback: int = 0
    rollup_changes: int = 0
    rollups_refreshed: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def populate_scale(
    engine: Engine,
    *,
    rows: int,
    seed: int = 7,
    days: int = 90,
    end: datetime | None = None,
    sessions: int = 0,
) -> ScaleSummary:
    """Write `rows` ledger entries and `rows` tasks (and the orders they name) into an empty
    database, and `sessions` checkout sessions with their views, orders, fulfilment steps and
    ratings (scale_funnel.py)."""
    if rows < 1:
        raise BadInput(f"--scale must be at least 1, not {rows}.")
    if sessions < 0:
        raise BadInput(f"--sessions must be 0 or more, not {sessions}.")
    if days < 1:
        raise BadInput(f"--days must be at least 1, not {days}.")
    with session_scope(engine, readonly=True) as session:
        require_empty(session)
    rng = random.Random(seed)
    end = end or utcnow()
    start = end - timedelta(days=days)
    summary = ScaleSummary(rows, days, seed)
    began = time.perf_counter()
    with session_scope(engine) as session:
        catalog = _catalog(session, start)
    summary.ideas, summary.offers = len({o[1] for o in catalog}), len(catalog)
    values = _Values(engine.dialect.name)
    paid: list[tuple[float, str, str, str]] = []  # paid orders: time (s), order, offer, idea
    with _Bulk(engine) as write:
        mark = time.perf_counter()
        made = write(_ledger_rows(rng, catalog, start, end, rows, paid, values))
        summary.orders, summary.ledger_entries = made["order"], made["ledger"]
        summary.seconds["ledger"] = round(time.perf_counter() - mark, 2)
        mark = time.perf_counter()
        made = write(_task_rows(rng, catalog, paid, start, end, rows, values))
        summary.tasks, summary.spans = made["task"], made["span"]
        summary.seconds["tasks"] = round(time.perf_counter() - mark, 2)
        if sessions:
            mark = time.perf_counter()
            moments = _moments(rng, (end - start).total_seconds(), sessions)
            made = write(funnel_rows(rng, catalog, start, end, sessions, values, moments))
            summary.checkout_sessions, summary.funnel_events = made["session"], made["event"]
            summary.funnel_orders, summary.fulfilments = made["funnel_order"], made["fulfilment"]
            summary.feedback = made["feedback"]
            summary.seconds["funnel"] = round(time.perf_counter() - mark, 2)
    with session_scope(engine, readonly=True) as session:
        summary.rollup_changes = session.scalar(select(func.count()).select_from(RollupChange)) or 0
    mark = time.perf_counter()
    with session_scope(engine) as session:
        summary.rollups_refreshed = refresh_rollups(session)
    summary.seconds["rollups"] = round(time.perf_counter() - mark, 2)
    summary.seconds["total"] = round(time.perf_counter() - began, 2)
    return summary


def _catalog(session: Any, start: datetime) -> list[Offer]:
    """Eight ideas and all their offers, through the offers service."""
    made = []
    for index, spec in enumerate(IDEAS[:8]):
        created = start - timedelta(days=30 - 3 * index)
        idea = offers.create_idea(
            session,
            title=spec.title,
            description=spec.description,
            status="live",
            created_at=created,
        )
        for offer in spec.offers:
            row = offers.create_offer(
                session,
                idea_id=idea.id,
                title=offer.title,
                price_minor=offer.price_minor,
                currency=offer.currency,
                created_at=created + timedelta(days=2),
            )
            made.append((row.id, idea.id, row.currency, row.price_minor))
    return made


class _Bulk:
    """`with _Bulk(engine) as write:` — `write(rows)` inserts ("table key", tuple) rows with
    one executemany per table per CHUNK rows, each chunk in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.connection: Connection | None = None

    def __enter__(self) -> Callable[[Iterator[Row]], dict[str, int]]:
        self.connection = self.engine.connect()
        if self.sqlite:
            self.connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            self.connection.commit()
        return self.write

    def write(self, rows: Iterator[Row]) -> dict[str, int]:
        """Insert every row, a transaction per CHUNK rows; how many went into each table."""
        counts = dict.fromkeys(TABLES, 0)
        chunk: Chunk = {key: [] for key in TABLES}
        size = 0
        for key, row in rows:
            chunk[key].append(row)
            size += 1
            if size >= CHUNK:
                self._flush(chunk, counts)
                chunk, size = {key: [] for key in TABLES}, 0
        self._flush(chunk, counts)
        return counts

    def _flush(self, chunk: Chunk, counts: dict[str, int]) -> None:
        assert self.connection is not None
        marker = "?" if self.sqlite else "%s"
        with self.connection.begin():
            with rollups.triggers_suspended(self.connection):
                for key, (table, columns) in TABLES.items():
                    if chunk[key]:
                        sql = (
                            f"INSERT INTO {table} ({', '.join(columns)}) "
                            f"VALUES ({', '.join([marker] * len(columns))})"
                        )
                        self.connection.exec_driver_sql(sql, chunk[key])
                        counts[key] += len(chunk[key])
            for key, source in (("ledger", rollups.LEDGER), ("task", rollups.TASKS)):
                column = TABLES[key][1].index(source.time)
                hours = self._hours(row[column] for row in chunk[key])
                rollups.mark_hours(self.connection, source, hours)

    def _hours(self, values: Iterable[Any]) -> set[datetime]:
        """The distinct hours of driver-form times (text on SQLite), None skipped."""
        if not self.sqlite:
            return {v for v in values if v is not None}
        found = {v[:13] for v in values if v is not None}
        return {datetime.fromisoformat(f"{h}:00").replace(tzinfo=UTC) for h in found}

    def __exit__(self, *exc: object) -> None:
        assert self.connection is not None
        if self.sqlite:
            self.connection.rollback()  # whatever a failure left open
            self.connection.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default
            self.connection.commit()
        self.connection.close()


class _Values:
    """Values as the driver takes them: UTC times as SQLAlchemy writes them on SQLite (aware
    datetimes on PostgreSQL), JSON as text or jsonb, booleans; ids made in batches."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.db = dialect
        self._ids: list[str] = []
        self._jsonb: Callable[[Any], Any] = json.dumps
        if not self.sqlite:
            from psycopg.types.json import Jsonb

            self._jsonb = Jsonb

    def time(self, when: datetime) -> Any:
        return when.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else when

    def json(self, value: Any) -> Any:
        return None if value is None else self._jsonb(value)

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    def id(self, prefix: str) -> str:
        """`governor.ids.new_id`'s layout (millisecond clock, then 80 random bits) made 4096
        at a time: one by one, a million of them take ten seconds here."""
        if not self._ids:
            millis = _base32(time.time_ns() // 1_000_000, 10)
            noise = base64.b32encode(os.urandom(10 * 4096)).decode().translate(_CROCKFORD)
            self._ids = [millis + noise[i : i + 16] for i in range(len(noise) - 16, -1, -16)]
        return f"{prefix}_{self._ids.pop()}"


_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz")


def _moments(rng: random.Random, span_s: float, count: int) -> Iterator[float]:
    """About `count` growing offsets in seconds from the window's start, denser towards its
    end; more, at its very end, for as long as they are asked for."""
    for index in itertools.count():
        yield span_s * min((index + rng.random()) / count, 1.0) ** GROWTH


def _ledger_rows(
    rng: random.Random,
    catalog: list[Offer],
    start: datetime,
    end: datetime,
    total: int,
    paid: list[tuple[float, str, str, str]],
    values: _Values,
) -> Iterator[Row]:
    """Orders and their money, in time order: a charge (4% fail), its fee and a fulfilment
    cost; a refund (3%) or a dispute (0.5%) some days later; a payout every 400 orders.
    Exactly `total` ledger rows."""
    span_s = (end - start).total_seconds()
    now = values.time(utcnow())
    cumulative = list(accumulate(1.0 if o[2] == "usd" else 0.35 for o in catalog))
    tag_base = secrets.token_hex(3)
    last = end - timedelta(seconds=1)
    written = 0
    # An order makes 2.96 ledger rows on average: spread that many orders over the window.
    for serial, offset in enumerate(_moments(rng, span_s, int(total / 2.96) + 1)):
        if written >= total:
            return
        offer, idea, currency, price = catalog[
            bisect.bisect(cumulative, rng.random() * cumulative[-1])
        ]
        moment = start + timedelta(seconds=offset)
        at = values.time(moment)
        tag = f"{tag_base}{serial:09d}"
        order, charge, txn = values.id("order"), f"ch_{tag}", f"txn_{tag}"
        draw = rng.random()
        money: list[tuple[str, int, str, Any, str, str, str | None]]
        if draw < 0.04:
            status = "failed"
            money = [("charge", price, "failed", at, "stripe", charge, None)]
        else:
            status = "refunded" if draw < 0.07 else "disputed" if draw < 0.075 else "fulfilled"
            fee = (price * 29 + 500) // 1000 + 30
            money = [
                ("charge", price, "succeeded", at, "stripe", charge, txn),
                ("fee", -fee, "posted", at, "stripe", txn, txn),
                (
                    "fulfilment_cost",
                    -max(50, price * (3 + int(7 * draw)) // 100),
                    "succeeded",
                    at,
                    "governor",
                    f"cost_{tag}",
                    None,
                ),
            ]
            paid.append((offset, order, offer, idea))
        yield (
            "order",
            (
                order,
                offer,
                None,
                price,
                currency,
                status,
                charge,
                f"pi_{tag}",
                at,
                None if status == "failed" else at,
                None if status == "failed" else at,
            ),
        )
        if status in ("refunded", "disputed"):
            later = values.time(min(moment + timedelta(days=1 + 9 * rng.random()), last))
            if status == "refunded":
                money.append(
                    ("refund", -price, "succeeded", later, "stripe", f"re_{tag}", f"txn_re{tag}")
                )
            else:
                money.append(
                    (
                        "dispute",
                        -price,
                        rng.choice(("won", "lost", "needs_response")),
                        later,
                        "stripe",
                        f"dp_{tag}",
                        f"txn_dp{tag}",
                    )
                )
        for kind, amount, state, when, source, ref, balance in money[: total - written]:
            yield (
                "ledger",
                (
                    values.id("led"),
                    kind,
                    amount,
                    currency,
                    state,
                    when,
                    source,
                    ref,
                    balance,
                    charge,
                    order,
                    offer,
                    idea,
                    None,
                    None,
                    when,
                    None,
                    now,
                    now,
                ),
            )
            written += 1
        if serial % 400 == 399 and written < total:  # a payout now and then
            yield (
                "ledger",
                (
                    values.id("led"),
                    "payout",
                    -rng.randint(50_000, 900_000),
                    currency,
                    "paid",
                    at,
                    "stripe",
                    f"po_{tag}",
                    f"txn_po{tag}",
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    at,
                    None,
                    now,
                    now,
                ),
            )
            written += 1


def _rates() -> dict[str, tuple[int, int]]:
    """Micro-dollars per million input and per million output tokens, per model."""
    models = {use.model for kind in TASKS.values() for use in kind.models}
    rates = {}
    for model in models:
        per_in = price_call(model, provider=None, input_tokens=1_000_000, output_tokens=0)
        per_out = price_call(model, provider=None, input_tokens=0, output_tokens=1_000_000)
        rates[model] = (per_in.cost_micros or 0, per_out.cost_micros or 0)
    return rates


def _task_rows(
    rng: random.Random,
    catalog: list[Offer],
    paid: list[tuple[float, str, str, str]],
    start: datetime,
    end: datetime,
    total: int,
    values: _Values,
) -> Iterator[Row]:
    """`total` tasks in time order: the demo's four types and 7% of Governor's own system
    tasks; fulfilments name an order paid just before; every SPAN_EVERY-th task has spans."""
    span_s = (end - start).total_seconds()
    rates = _rates()
    version = price_call("gpt-4o", provider=None, input_tokens=1, output_tokens=1).price_version
    types = [t for t, _ in TYPES]
    type_weights = list(accumulate(w for _, w in TYPES))
    statuses = [s for s, _ in STATUSES]
    status_weights = list(accumulate(w for _, w in STATUSES))
    models = {
        k: (list(kind.models), list(accumulate(m.weight for m in kind.models)))
        for k, kind in TASKS.items()
    }
    paid_at = [p[0] for p in paid]
    for serial, offset in zip(range(total), _moments(rng, span_s, total), strict=False):
        type = types[bisect.bisect(type_weights, rng.random() * type_weights[-1])]
        status = statuses[bisect.bisect(status_weights, rng.random() * status_weights[-1])]
        order = offer = idea = None
        if type == "fulfill_order" and paid:
            near = max(0, bisect.bisect(paid_at, offset) - 1 - int(8 * rng.random()))
            offset, order, offer, idea = paid[near]
            offset += 2 + 88 * rng.random()
        elif type in ("write_copy", "create_offer", "implement_idea"):
            offer, idea, _, _ = catalog[int(len(catalog) * rng.random())]
            offer = None if type == "implement_idea" else offer
        created = start + timedelta(seconds=offset)
        low, high = DURATION_MS[type]
        duration = int(low * (high / low) ** rng.random())
        started = created + timedelta(milliseconds=20 + 3000 * rng.random())
        ran = status in ("succeeded", "failed")
        model, tokens_in, tokens_out, cost = None, 0, 0, None
        if ran and not type.startswith("revenue."):
            uses, weights = models[type]
            use = uses[bisect.bisect(weights, rng.random() * weights[-1])]
            calls = 1 if type != "implement_idea" else 2 + int(2 * rng.random())
            low_in, high_in = use.input_tokens
            low_out, high_out = use.output_tokens
            tokens_in = calls * int(low_in + (high_in - low_in) * rng.random())
            tokens_out = calls * int(low_out + (high_out - low_out) * rng.random())
            model = use.model
            per_in, per_out = rates[model]
            cost = (tokens_in * per_in + tokens_out * per_out + 500_000) // 1_000_000
        task_id = values.id("task")
        finished = min(started + timedelta(milliseconds=duration), end) if ran else created
        yield (
            "task",
            (
                task_id,
                "system" if type.startswith("revenue.") else "agent",
                type,
                status,
                model,
                values.json(
                    {"order_id": order} if order else {"offer_id": offer} if offer else None
                ),
                None,
                ERRORS[serial % len(ERRORS)] if status == "failed" else None,
                None,
                3 if status == "failed" else int(ran),
                3,
                None,
                None,
                None,
                None,
                0,
                0,
                600.0,
                values.flag(status == "cancelled"),
                values.time(created),
                values.time(started) if ran else None,
                values.time(finished),
                duration if ran else None,
                tokens_in,
                tokens_out,
                0,
                cost,
                version if cost is not None else None,
                idea,
                offer,
                order,
            ),
        )
        if serial % SPAN_EVERY == 0 and model is not None:
            yield from _spans(rng, type, task_id, started, values)


def _spans(
    rng: random.Random, type: str, task_id: str, started: datetime, values: _Values
) -> Iterator[Row]:
    """A waterfall for one task, as the demo plans them (plan.task_spans)."""
    kind = TASKS[type]
    use = kind.models[0]
    calls = [
        (
            use.model,
            rng.randint(*use.input_tokens),
            rng.randint(*use.output_tokens),
            rng.randint(800, 20_000),
        )
        for _ in range(rng.randint(*kind.calls))
    ]
    planned = planning.task_spans(rng, kind, calls, None)
    trace_id = secrets.token_hex(16)
    ids = [secrets.token_hex(8) for _ in planned]
    for index, span in enumerate(planned):
        attributes = {
            k: v.replace("{db}", values.db) if isinstance(v, str) else v
            for k, v in span.attributes.items()
        }
        yield (
            "span",
            (
                task_id,
                trace_id,
                ids[index],
                None if span.parent is None else ids[span.parent],
                span.name.replace("{db}", values.db),
                span.kind,
                values.time(started + timedelta(microseconds=span.start_us)),
                span.duration_us,
                values.json(attributes),
            ),
        )
