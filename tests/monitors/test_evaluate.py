"""Watched series: anomalies and drifts become findings and one alert per ongoing incident."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from governor.models import Alert, Finding, MonitorState
from governor.monitors.evaluate import evaluate
from governor.storage.db import get_engine, session_scope
from tests.factories import insert_entry, insert_task

NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
THRESHOLD = 0.5


def run(now: datetime = NOW):  # type: ignore[no-untyped-def]
    return evaluate(get_engine(), threshold=THRESHOLD, now=now)


def findings(kind: str) -> list[Finding]:
    with session_scope(readonly=True) as session:
        query = sa.select(Finding).where(Finding.kind == kind).order_by(Finding.at)
        return list(session.scalars(query))


def alerts() -> list[Alert]:
    with session_scope(readonly=True) as session:
        return list(session.scalars(sa.select(Alert).order_by(Alert.first_seen)))


def steady_sales_then_silence(engine, silent_hours: int) -> datetime:  # type: ignore[no-untyped-def]
    """Two charges every hour for 8 days, then none for the last `silent_hours` hours."""
    start = NOW.replace(minute=0) - 8 * DAY
    last = NOW.replace(minute=0) - silent_hours * HOUR
    hour, n = start, 0
    while hour < last:
        for minute in (10, 40):
            n += 1
            insert_entry(engine, occurred_at=hour + timedelta(minutes=minute),
                         amount_minor=4900 + 100 * (n % 3), source_ref=f"ch_{n}")  # fmt: skip
        hour += HOUR
    return last


def test_revenue_that_stops_is_one_alert_with_its_expected_range_and_rows(migrated):
    silent_from = steady_sales_then_silence(migrated, silent_hours=3)
    outcome = run()
    assert outcome.series >= 1 and outcome.points > 0
    flagged = [f for f in findings("anomaly") if f.series == "revenue.gross.usd"]
    assert flagged and all(f.at >= silent_from for f in flagged)  # the steady days are quiet
    first = flagged[0]
    assert first.value == 0 and first.expected_low is not None and first.expected_low >= 9800
    assert "Gross revenue (USD)" in first.explanation and "0.00 USD" in first.explanation
    assert first.link is not None and first.link.startswith("/ledger?kinds=charge&currency=usd")
    [alert] = [a for a in alerts() if a.fingerprint == "anomaly:revenue.gross.usd"]
    assert alert.kind == "anomaly" and alert.status == "open"
    assert alert.details["drilldown"] == flagged[-1].link
    assert alert.count == len(flagged)  # one incident, seen once per flagged hour


def test_evaluation_is_incremental_and_the_same_in_one_run_or_several(migrated):
    steady_sales_then_silence(migrated, silent_hours=4)
    run(NOW - 2 * HOUR)
    again = run(NOW - 2 * HOUR)
    assert again.points == 0  # nothing new: nothing re-read
    later = run(NOW)
    assert later.points > 0 and later.points <= 2 * later.series
    split = [(f.series, f.at, round(f.score, 6)) for f in findings("anomaly")]
    with session_scope() as session:  # forget everything and evaluate in one go
        for table in (Finding, MonitorState, Alert):
            session.execute(sa.delete(table))
    run(NOW)
    assert [(f.series, f.at, round(f.score, 6)) for f in findings("anomaly")] == split


def test_a_slow_rise_of_a_task_types_p95_is_a_drift_with_its_rate_and_start(migrated):
    start = (NOW - 40 * DAY).replace(hour=0, minute=0)
    onset = start + 20 * DAY

    def tasks_of(day: int) -> None:
        growth = 1.04 ** max(0, day - 20)
        for i in range(20):
            duration = int((60_000 + 1500 * (i % 5)) * growth)
            insert_task(migrated, type="implement_idea", duration_ms=duration,
                        finished_at=start + day * DAY + timedelta(minutes=30 * i + 5))  # fmt: skip

    for day in range(40):
        tasks_of(day)
    run()
    [drift] = [f for f in findings("drift") if f.series == "drift.duration_p95.implement_idea"]
    assert abs((drift.at - onset).days) <= 4
    assert "implement_idea p95 up" in drift.explanation and "/day since" in drift.explanation
    [alert] = [a for a in alerts() if a.fingerprint == "drift:drift.duration_p95.implement_idea"]
    assert alert.kind == "drift" and alert.details["direction"] == "up"
    assert alert.details["drilldown"].startswith("/tasks?type=implement_idea")
    tasks_of(40)
    run(NOW + DAY)  # the drift goes on: the same alert, seen again
    [again] = [a for a in alerts() if a.fingerprint == alert.fingerprint]
    assert again.id == alert.id and again.count == alert.count + 1


def test_audits_creeping_up_and_alerts_left_acknowledged_raise_their_own_drift(migrated):
    from governor.models import FsarRecord

    start = (NOW - 40 * DAY).replace(hour=0, minute=0)
    with session_scope() as session:
        for day in range(40):
            severity = (2 + day % 2) if day < 20 else (5 + day % 2)
            checks = [{"name": f"check_{i}", "passed": i >= severity // 2} for i in range(10)]
            session.add(FsarRecord(
                id=f"fsar_{day:08d}-0000-4000-8000-000000000000", origin="audit",
                created_at=start + day * DAY + 3 * HOUR, severity=severity, passed=False,
                block_execution=False, proposal="p", risks=[], mitigations=[], findings=checks,
            ))  # fmt: skip
            if day >= 25:  # one more alert acknowledged and left open every day
                session.add(Alert(id=f"alert_ack{day}", kind="drift", severity=4,
                                  fingerprint=f"f{day}", title="t", status="acknowledged",
                                  count=1, first_seen=start + day * DAY,
                                  last_seen=start + day * DAY,
                                  acknowledged_at=start + day * DAY + HOUR))  # fmt: skip
    run()
    drifting = {f.series: f.explanation for f in findings("drift")}
    assert (
        "Worst audit severity stepped up" in drifting["drift.audit.severity"]
        or "Worst audit severity up" in drifting["drift.audit.severity"]
    )
    assert "Alerts acknowledged but not resolved" in drifting["drift.trust.acknowledged_unresolved"]
