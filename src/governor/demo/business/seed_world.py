"""`governor demo --scenario seed`: the world the seed FSAR report describes, planted into a
demo business so that an audit has each of its problems to find.

The demo's history (through the Stripe stand-in and the webhook) stops a day and a half ago:
revenue drops. Then, in the last hours: `implement_idea` tasks several times slower than the
rest because of a query repeated per item (N+1) and one slow outside API; `create_offer`
calls that an outside service answers with 429; a failed charge; a charge Stripe settled that
the ledger never got, found by a reconciliation; an offer losing its buyers at the payment
step and a fulfilment provider failing (demo/business/seed_friction.py). The monitors
evaluate all of it. Last, the database is put one migration behind: `execution_tasks.ai_model`
is dropped, as it was missing in production.
"""

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.audits.canaries import settled_charge
from governor.config import Settings
from governor.demo.business.history import populate
from governor.demo.business.seed_friction import PlantedFriction, plant_friction
from governor.ids import new_id
from governor.models import ExecutionTask, LedgerEntry, TaskSpan
from governor.models.types import utcnow
from governor.monitors.evaluate import evaluate
from governor.revenue.reconcile import Window, record
from governor.storage.db import session_scope

SLOW_API = "api.slow-vendor.example"
THROTTLING_API = "api.offers-partner.example"
REPEATED = "SELECT * FROM offers WHERE idea_id = ?"
SILENT_HOURS = 36
SCHEMA_CHANGE = (
    "execution_tasks.ai_model was dropped by hand, as it was missing in production (the "
    "revision is still the head): the guard refuses agent work until `governor db repair` "
    "puts it back."
)
"""What the scenario did to the schema, in the guard's terms."""


@dataclass
class Planted:
    """What the scenario planted, for the command's summary and the tests."""

    slow_tasks: int
    throttled_calls: int
    failed_charge: str
    missing_charge: str
    reconciliation_run: str
    revenue_stops_at: str
    friction: PlantedFriction
    dropped_column: str = "execution_tasks.ai_model"

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        friction = fields.pop("friction")
        return {**fields, **{f"friction_{key}": value for key, value in friction.items()}}


def build_seed_world(
    engine: Engine,
    settings: Settings,
    *,
    seed: int = 7,
    days: int = 30,
    now: datetime | None = None,
) -> Planted:
    """Write the demo business and plant the seed report's problems (see the module)."""
    now = now or utcnow()
    stops = now - timedelta(hours=SILENT_HOURS)
    populate(engine, settings, seed=seed, days=days, end=stops)
    with session_scope(engine) as session:
        slow = _slow_tasks(session, now)
        throttled = _throttled_calls(session, now)
        failed = _failed_charge(session, now)
        missing = _missing_charge(session, now)
        friction = plant_friction(session, now, stops)
    with session_scope(engine) as session:
        run = record(session, Window(now - timedelta(days=2), now), "demo")
    evaluate(engine, threshold=settings.anomaly_threshold, now=now)
    drop_ai_model_by_hand(engine)
    return Planted(slow, throttled, failed, missing, run.run_id, stops.isoformat(), friction)


def _task(session: Session, type_: str, finished: datetime, duration_ms: int) -> str:
    task_id = new_id("task")
    session.add(
        ExecutionTask(
            id=task_id,
            kind="agent",
            type=type_,
            status="succeeded",
            ai_model="gpt-4o",
            input={"seed": "scenario"},
            attempts=1,
            max_attempts=3,
            created_at=finished - timedelta(milliseconds=duration_ms),
            started_at=finished - timedelta(milliseconds=duration_ms),
            finished_at=finished,
            duration_ms=duration_ms,
            tokens_in=3000,
            tokens_out=900,
            cost_micros=24_000,
        )
    )
    return task_id


def _span(
    session: Session,
    task_id: str,
    trace: str,
    parent: str | None,
    name: str,
    kind: str,
    start: datetime,
    duration_ms: float,
    **attributes: Any,
) -> str:
    span_id = secrets.token_hex(8)
    session.add(
        TaskSpan(
            task_id=task_id,
            trace_id=trace,
            span_id=span_id,
            parent_span_id=parent,
            name=name,
            kind=kind,
            started_at=start,
            duration_us=int(duration_ms * 1000),
            attributes=attributes,
        )
    )
    return span_id


def _slow_tasks(session: Session, now: datetime) -> int:
    """Twelve implement_idea tasks of ~40 s: 60 repeated queries and one 25 s outside call."""
    for n in range(12):
        finished = now - timedelta(hours=6, minutes=20 * n)
        duration = 40_000 + 500 * n
        task_id = _task(session, "implement_idea", finished, duration)
        start = finished - timedelta(milliseconds=duration)
        trace = secrets.token_hex(16)
        root = _span(session, task_id, trace, None, "implement_idea", "internal", start, duration)
        for q in range(60):
            _span(
                session,
                task_id,
                trace,
                root,
                "SELECT",
                "db",
                start + timedelta(milliseconds=100 + 200 * q),
                180.0,
                **{"db.statement": REPEATED},
            )
        _span(
            session,
            task_id,
            trace,
            root,
            "POST",
            "http",
            start + timedelta(seconds=13),
            25_000.0,
            **{
                "http.request.method": "POST",
                "server.address": SLOW_API,
                "url.full": f"https://{SLOW_API}/v1/build",
                "http.response.status_code": 200,
                "governor.outbound.attempts": 1,
            },
        )
    for n in range(24):  # the other types, at their usual speed
        for type_, duration in (("create_offer", 6_000), ("fulfill_order", 5_000)):
            _task(session, type_, now - timedelta(hours=5, minutes=10 * n), duration + 50 * n)
    return 12


def _throttled_calls(session: Session, now: datetime) -> int:
    """Offer creation calling a partner API that answers 429 to most calls."""
    calls = 20
    for n in range(calls):
        finished = now - timedelta(hours=4, minutes=7 * n)
        task_id = _task(session, "create_offer", finished, 7_000)
        start = finished - timedelta(seconds=7)
        throttled = n % 4 != 0
        _span(
            session,
            task_id,
            secrets.token_hex(16),
            None,
            "POST",
            "http",
            start,
            5_000.0,
            **{
                "http.request.method": "POST",
                "server.address": THROTTLING_API,
                "url.full": f"https://{THROTTLING_API}/v2/listings",
                "http.response.status_code": 429 if throttled else 201,
                "governor.outbound.attempts": 3 if throttled else 1,
            },
        )
    return calls


def _failed_charge(session: Session, now: datetime) -> str:
    charge = f"ch_seedFailed{secrets.token_hex(6)}"
    at = now - timedelta(hours=3)
    session.add(
        LedgerEntry(
            id=new_id("le"),
            kind="charge",
            amount_minor=4900,
            currency="usd",
            status="failed",
            occurred_at=at,
            source="stripe",
            source_ref=charge,
            watermark=at,
            description="card_declined",
        )
    )
    return charge


def _missing_charge(session: Session, now: datetime) -> str:
    """A charge in Stripe's balance transactions whose webhook never reached the ledger."""
    charge = f"ch_seedMissing{secrets.token_hex(6)}"
    session.add(settled_charge(charge, 9900, 317, now - timedelta(hours=2), "api"))
    return charge


def drop_ai_model_by_hand(engine: Engine) -> None:
    """Drop `execution_tasks.ai_model` with what depends on it (its index, and the rollup
    triggers that read it), at the head revision: a change made by hand."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE execution_tasks DROP COLUMN ai_model CASCADE")
            return
        connection.exec_driver_sql(
            "DROP INDEX IF EXISTS ix_execution_tasks_type_ai_model_finished_at"
        )
        for event in ("insert", "update", "delete"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_execution_tasks_rollup_{event}")
        connection.exec_driver_sql("ALTER TABLE execution_tasks DROP COLUMN ai_model")
