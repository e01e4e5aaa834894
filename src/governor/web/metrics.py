"""/metrics in Prometheus' text format: tasks, durations, AI cost, revenue, alerts, the gate."""

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from governor.analytics import kpis
from governor.analytics.rollups import LEDGER, TASKS, cells
from governor.analytics.service import ALL_TIME
from governor.models import Alert, ExecutionTask, StripeEvent
from governor.models.types import utcnow
from governor.storage.db import session_scope
from governor.tasks import gate


class GovernorCollector(Collector):
    """Reads the figures from the database at each scrape (from the rollups: cheap at scale)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with session_scope(self.engine, readonly=True) as session:
            now = utcnow()
            task_keys = ("kind", "type", "ai_model", "status")
            task_cells = cells(session, TASKS, ALL_TIME, now, grain=None, keys=task_keys)
            ledger_keys = ("currency", "kind", "status")
            ledger_cells = cells(session, LEDGER, ALL_TIME, now, grain=None, keys=ledger_keys)
            unfinished = session.execute(
                sa.select(ExecutionTask.type, ExecutionTask.status, sa.func.count())
                .where(ExecutionTask.status.in_(("pending", "running")))
                .group_by(ExecutionTask.type, ExecutionTask.status)
            ).all()  # fmt: skip
            alerts = session.execute(
                sa.select(Alert.status, sa.func.count()).group_by(Alert.status)
            ).all()  # fmt: skip
            inbox = session.execute(
                sa.select(sa.func.count()).where(StripeEvent.handled_at.is_(None))
            ).scalar_one()
            state = gate.status(session)
        yield from _task_metrics(task_cells, unfinished)
        yield from _money_metrics(ledger_cells)
        yield _gauge("governor_alerts", "Alerts by status.", ["status"], alerts)
        yield _gauge("governor_stripe_events_unhandled", "Stripe events not handled yet.", [],
                     [(inbox,)])  # fmt: skip
        yield _gauge("governor_gate_open", "1 while agent tasks may start, 0 while the gate is "
                     "closed.", [], [(1 if state.open else 0,)])  # fmt: skip


def _gauge(name: str, doc: str, labels: list[str], rows: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for *values, value in rows:  # each row: its label values, then the value
        family.add_metric([str(v) for v in values], value)
    return family


def _task_metrics(task_cells: list[dict[str, Any]], unfinished: Any) -> Iterator[Metric]:
    finished: dict[tuple[str, str, str], int] = defaultdict(int)
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    cost: dict[tuple[str, str], int] = defaultdict(int)
    tokens: dict[tuple[str, str, str], int] = defaultdict(int)
    for cell in task_cells:
        finished[(cell["kind"], cell["type"], cell["status"])] += int(cell["tasks"])
        seconds[(cell["type"], cell["status"])] += int(cell["duration_ms"]) / 1000
        cost[(cell["type"], cell["ai_model"])] += int(cell["cost_micros"])
        tokens[(cell["type"], cell["ai_model"], "in")] += int(cell["tokens_in"])
        tokens[(cell["type"], cell["ai_model"], "out")] += int(cell["tokens_out"])
    yield _counter("governor_tasks_finished", "Finished tasks by kind, type and status.",
                   ["kind", "type", "status"], finished)  # fmt: skip
    yield _counter("governor_task_duration_seconds", "Summed run time of finished tasks "
                   "(divided by governor_tasks_finished_total: the mean).", ["type", "status"],
                   seconds)  # fmt: skip
    yield _counter("governor_ai_cost_usd_micros", "AI cost of finished tasks in micro-dollars.",
                   ["type", "ai_model"], cost)  # fmt: skip
    yield _counter("governor_ai_tokens", "Model tokens of finished tasks.",
                   ["type", "ai_model", "direction"], tokens)  # fmt: skip
    yield _gauge("governor_tasks_unfinished", "Pending and running tasks by type and status.",
                 ["type", "status"], unfinished)  # fmt: skip


def _money_metrics(ledger_cells: list[dict[str, Any]]) -> Iterator[Metric]:
    money: dict[tuple[str, str], int] = defaultdict(int)
    for row in kpis.money_kpis(ledger_cells):
        for figure in (*kpis.KIND_GROUPS, "net_revenue"):
            money[(row.currency, figure)] += getattr(row, figure)
    yield _counter("governor_revenue_minor", "Money by currency and figure, in minor units of the "
                   "currency (outflows negative).", ["currency", "figure"], money)  # fmt: skip


def _counter(name: str, doc: str, labels: list[str], values: dict[Any, Any]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key in sorted(values):
        family.add_metric([str(part) for part in key], values[key])
    return family


def render(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the text exposition format."""
    return generate_latest(registry)


def registry_for(engine: Engine) -> CollectorRegistry:
    """A registry holding Governor's collector (one per app, not the process-global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GovernorCollector(engine))
    return registry
