"""The series Governor watches, read from the rollups: hourly ones for anomalies, daily
leading indicators for drift. Each knows its unit, which way is bad, and its drill-down."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.analytics.kpis import moved_money
from governor.analytics.rollups import LEDGER, TASKS, cells
from governor.detection.drift import Direction
from governor.models import Alert, Discrepancy, ExecutionTask, FsarRecord, ReconciliationRun
from governor.revenue.currency import exponent

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class Watched:
    """One watched series: its name (the key of its state), how to show it, and where to look."""

    name: str
    label: str
    unit: str  # "money:<cur>" (minor units), "major:<cur>", "micros", "ms", "count" or "rate"
    direction: Direction = "both"  # which way of drifting is bad
    page: str = "/tasks"
    filters: dict[str, str] = field(default_factory=dict)
    dense: bool = True  # a bucket without rows is a 0 (counts, sums), else no point (means, rates)

    def link(self, start: datetime, end: datetime) -> str:
        """The drill-down page of the rows behind [start, end)."""
        query = {**self.filters, "since": start.isoformat(), "until": end.isoformat()}
        return f"{self.page}?{urlencode(query)}"


@dataclass
class Readings:
    """The points of every series found in a range: {series name: (Watched, {bucket: value})}."""

    step: timedelta
    found: dict[str, tuple[Watched, dict[datetime, float]]] = field(default_factory=dict)

    def add(self, watched: Watched, bucket: datetime, value: float) -> None:
        self.found.setdefault(watched.name, (watched, {}))[1][bucket] = value

    def points(
        self, name: str, start: datetime, end: datetime, *, fill_from: datetime | None = None
    ) -> list[tuple[datetime, float]]:
        """The series' points in [start, end). A dense series is filled with zeros from
        `fill_from` (a known series: where it left off) or else from its first value."""
        watched, values = self.found[name]
        if not watched.dense:
            return sorted((b, v) for b, v in values.items() if start <= b < end)
        first = fill_from or min((b for b in values if b >= start), default=end)
        count = (end - first) // self.step
        return [(first + i * self.step, values.get(first + i * self.step, 0.0))
                for i in range(count)]  # fmt: skip


def hourly(session: Session, start: datetime, end: datetime) -> Readings:
    """Money and tasks per UTC hour: revenue, refunds and failed charges per currency; AI cost;
    failures and mean duration per task type."""
    readings = Readings(HOUR)
    for cell in cells(session, LEDGER, start, end, grain="hour", keys=("currency", "kind",
                                                                        "status")):  # fmt: skip
        currency, kind, bucket = cell["currency"], cell["kind"], cell["bucket"]
        money = f"money:{currency}"
        if kind == "charge" and moved_money(cell["status"]):
            readings.add(_charges(currency, money), bucket, float(cell["amount_minor"]))
        elif kind == "refund" and moved_money(cell["status"]):
            readings.add(
                Watched(
                    f"revenue.refunds.{currency}",
                    f"Refunds ({currency.upper()})",
                    money,
                    page="/ledger",
                    filters={"kinds": "refund", "currency": currency},
                ),
                bucket,
                -float(cell["amount_minor"]),
            )
        elif kind == "charge" and cell["status"] == "failed":
            readings.add(
                Watched(
                    f"charges.failed.{currency}",
                    f"Failed charges ({currency.upper()})",
                    "count",
                    page="/ledger",
                    filters={"kinds": "charge", "currency": currency, "status": "failed"},
                ),
                bucket,
                float(cell["entries"]),
            )
    _task_hours(session, start, end, readings)  # fmt: skip
    return readings


def _charges(currency: str, unit: str) -> Watched:
    return Watched(f"revenue.gross.{currency}", f"Gross revenue ({currency.upper()})", unit,
                   page="/ledger", filters={"kinds": "charge", "currency": currency})  # fmt: skip


def _task_hours(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    per_hour: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    ai = Watched("ai.cost", "AI cost of agent tasks", "micros", filters={"kind": "agent"})
    for cell in cells(session, TASKS, start, end, grain="hour", keys=("kind", "type", "status")):
        bucket, type_ = cell["bucket"], cell["type"]
        if cell["kind"] == "agent":
            readings.found.setdefault(ai.name, (ai, {}))[1].setdefault(bucket, 0.0)
            readings.found[ai.name][1][bucket] += float(cell["cost_micros"])
        sums = per_hour[bucket, type_]
        sums[0] += int(cell["tasks"])
        sums[1] += int(cell["duration_ms"])
        sums[2] += int(cell["tasks"]) if cell["status"] == "failed" else 0
    for (bucket, type_), (tasks, duration, failed) in per_hour.items():
        readings.add(
            Watched(
                f"tasks.failed.{type_}",
                f"Failed {type_} tasks",
                "count",
                filters={"type": type_, "status": "failed"},
            ),
            bucket,
            float(failed),
        )
        mean = Watched(f"tasks.duration.{type_}", f"Mean duration of {type_}", "ms",
                       filters={"type": type_}, dense=False)  # fmt: skip
        readings.add(mean, bucket, duration / tasks)


def daily(session: Session, start: datetime, end: datetime) -> Readings:
    """Leading indicators per UTC day: cost per task, p95 duration, failure and retry rates per
    task type; refund rate and revenue per order per currency; reconciliation discrepancies;
    the audits' severity, failing and silenced checks; alerts acknowledged but unresolved."""
    readings = Readings(DAY)
    _task_days(session, start, end, readings)
    _money_days(session, start, end, readings)
    _discrepancy_days(session, start, end, readings)
    _audit_days(session, start, end, readings)
    _trust_days(session, start, end, readings)
    return readings


def _task_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    totals: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for cell in cells(session, TASKS, start, end, grain="day", keys=("type", "status")):
        sums = totals[cell["bucket"], cell["type"]]
        sums[0] += int(cell["tasks"])
        sums[1] += int(cell["cost_micros"])
        sums[2] += int(cell["tasks"]) if cell["status"] == "failed" else 0
    retried = _retried(session, start, end)
    for (day, type_), (tasks, cost, failed) in totals.items():
        sparse: dict[str, Any] = {"filters": {"type": type_}, "dense": False}
        readings.add(
            Watched(
                f"drift.cost_per_task.{type_}", f"{type_} cost per task", "micros", "up", **sparse
            ),
            day,
            cost / tasks,
        )
        readings.add(
            Watched(f"drift.failure_rate.{type_}", f"{type_} failure rate", "rate", "up", **sparse),
            day,
            failed / tasks,
        )
        readings.add(
            Watched(f"drift.retry_rate.{type_}", f"{type_} retry rate", "rate", "up", **sparse),
            day,
            retried.get((day, type_), 0) / tasks,
        )
        p95 = _p95_duration(session, type_, day, tasks)
        if p95 is not None:
            readings.add(Watched(f"drift.duration_p95.{type_}", f"{type_} p95", "ms", "up",
                                 **sparse), day, float(p95))  # fmt: skip


def _retried(session: Session, start: datetime, end: datetime) -> dict[tuple[datetime, str], int]:
    """Tasks that needed more than one attempt, per day and type (one query per day, each
    through the finished_at index)."""
    found: dict[tuple[datetime, str], int] = {}
    t = ExecutionTask
    for day in _days(start, end):
        query = (sa.select(t.type, sa.func.count())
                 .where(t.finished_at >= day, t.finished_at < day + DAY, t.attempts > 1)
                 .group_by(t.type))  # fmt: skip
        found.update({(day, type_): count for type_, count in session.execute(query)})
    return found


def _p95_duration(session: Session, type_: str, day: datetime, tasks: int) -> int | None:
    """The 95th percentile (nearest rank) of a type's durations on a day."""
    t = ExecutionTask
    query = (sa.select(t.duration_ms)
             .where(t.type == type_, t.finished_at >= day, t.finished_at < day + DAY,
                    t.duration_ms.is_not(None))
             .order_by(t.duration_ms.desc()).offset(tasks // 20).limit(1))  # fmt: skip
    return session.scalar(query)


def _money_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    per_day: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for cell in cells(session, LEDGER, start, end, grain="day", keys=("currency", "kind",
                                                                       "status")):  # fmt: skip
        if not moved_money(cell["status"]):
            continue
        sums = per_day[cell["bucket"], cell["currency"]]
        if cell["kind"] == "charge":
            sums[0] += int(cell["entries"])
            sums[1] += int(cell["amount_minor"])
        elif cell["kind"] == "refund":
            sums[2] += int(cell["entries"])
    for (day, currency), (charges, gross, refunds) in per_day.items():
        if not charges:
            continue
        upper = currency.upper()
        refund_rate = Watched(
            f"drift.refund_rate.{currency}", f"Refund rate ({upper})", "rate", "up",
            page="/ledger", filters={"kinds": "refund", "currency": currency}, dense=False,
        )  # fmt: skip
        per_order = Watched(
            f"drift.revenue_per_order.{currency}", f"Revenue per order ({upper})",
            f"major:{currency}", "down", page="/ledger",
            filters={"kinds": "charge", "currency": currency}, dense=False,
        )  # fmt: skip
        readings.add(refund_rate, day, refunds / charges)
        readings.add(per_order, day, gross / charges / 10 ** exponent(currency))


def _discrepancy_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """Discrepancies found by the reconciliations that finished each day (0 on a day with a
    clean run; no point on a day without one)."""
    run = ReconciliationRun
    runs = sa.select(run.id, run.finished_at).where(run.finished_at >= start,
                                                    run.finished_at < end)  # fmt: skip
    found: dict[datetime, float] = {}
    counts = dict(session.execute(
        sa.select(Discrepancy.run_id, sa.func.count()).group_by(Discrepancy.run_id)
        .where(Discrepancy.run_id.in_(runs.with_only_columns(run.id)))
    ).all())  # fmt: skip
    for run_id, finished in session.execute(runs):
        assert finished is not None  # the query asked for finished runs
        day = finished.replace(hour=0, minute=0, second=0, microsecond=0)
        found[day] = found.get(day, 0.0) + counts.get(run_id, 0)
    watched = Watched("drift.discrepancies", "Reconciliation discrepancies", "count", "up",
                      page="/alerts", filters={"status": "all"}, dense=False)  # fmt: skip
    for day, count in found.items():
        readings.add(watched, day, count)


def _audit_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """The audits' own history: the worst severity, the failing checks, and how many checks
    ran (fewer means checks were silenced), per day of audits."""
    audits = session.execute(
        sa.select(FsarRecord.created_at, FsarRecord.severity, FsarRecord.findings)
        .where(FsarRecord.origin == "audit", FsarRecord.created_at >= start,
               FsarRecord.created_at < end)
        .order_by(FsarRecord.created_at)
    ).all()  # fmt: skip
    per_day: dict[datetime, list[tuple[int, int, int]]] = defaultdict(list)
    for created, severity, findings in audits:
        results = findings or []
        failing = sum(not r.get("passed", False) for r in results)
        per_day[created.replace(hour=0, minute=0, second=0, microsecond=0)].append(
            (severity, failing, len(results))
        )
    series = (
        Watched("drift.audit.severity", "Worst audit severity", "count", "up", page="/audits",
                dense=False),
        Watched("drift.audit.failing_checks", "Failing audit checks", "count", "up", page="/audits",
                dense=False),
        Watched("drift.audit.checks_run", "Audit checks run", "count", "down", page="/audits",
                dense=False),
    )  # fmt: skip
    for day, rows in per_day.items():
        readings.add(series[0], day, float(max(r[0] for r in rows)))
        readings.add(series[1], day, sum(r[1] for r in rows) / len(rows))
        readings.add(series[2], day, float(min(r[2] for r in rows)))


def _trust_days(session: Session, start: datetime, end: datetime, readings: Readings) -> None:
    """Trust inflation: alerts acknowledged but left unresolved, as of the end of each day."""
    acknowledged = session.execute(
        sa.select(Alert.acknowledged_at, Alert.resolved_at).where(
            Alert.acknowledged_at.is_not(None), Alert.acknowledged_at < end,
            sa.or_(Alert.resolved_at.is_(None), Alert.resolved_at >= start))
    ).all()  # fmt: skip
    if not acknowledged:
        return
    watched = Watched("drift.trust.acknowledged_unresolved", "Alerts acknowledged but not resolved",
                      "count", "up", page="/alerts", filters={"status": "acknowledged"},
                      dense=False)  # fmt: skip
    for day in _days(start, end):
        close = day + DAY
        open_ = sum(1 for acked, resolved in acknowledged
                    if acked is not None and acked < close
                    and (resolved is None or resolved >= close))  # fmt: skip
        readings.add(watched, day, float(open_))


def _days(start: datetime, end: datetime) -> list[datetime]:
    return [start + i * DAY for i in range((end - start) // DAY)]
