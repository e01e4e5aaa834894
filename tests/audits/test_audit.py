"""Audits: every check and canary on a real database, the FSAR report, and the gate policy."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from governor.audits.checks import AuditContext, Registered, run_check
from governor.audits.fsar import parse_markdown, render_markdown
from governor.audits.service import run_audit
from governor.config import get_settings
from governor.errors import BadInput
from governor.ids import new_id
from governor.models import FsarRecord, ReconciliationRun
from governor.models.types import utcnow
from governor.storage.backup import create_backup
from governor.storage.db import session_scope
from governor.storage.guard import check_schema
from governor.tasks import gate
from tests.support.receivers import http_receiver

CANARIES = {"canary.forged_webhook", "canary.scratch", "canary.detectors"}


def healthy(engine) -> None:  # type: ignore[no-untyped-def]
    """What a well-kept system has: a fresh backup and a clean reconciliation."""
    create_backup(engine)
    now = utcnow()
    with session_scope(engine) as session:
        session.add(ReconciliationRun(id=new_id("recon"), window_start=now - timedelta(days=1),
                                      window_end=now, origin="api", status="clean",
                                      started_at=now, finished_at=now))  # fmt: skip


def test_a_healthy_system_passes_every_check_and_every_canary_is_caught(migrated, configure):
    healthy(migrated)
    with http_receiver() as receiver:
        configure(alert_urls=f"json://127.0.0.1:{receiver.port}/hooks")
        audit = run_audit(migrated, get_settings())
    failing = {r.name: r.summary for r in audit.results if not r.passed}
    assert failing == {}
    assert CANARIES | {"schema", "backup", "reconciliation", "task_performance"} <= {
        r.name for r in audit.results}  # fmt: skip
    report = audit.report
    assert (report.severity, report.block_execution, audit.closed_gate) == (0, False, False)
    assert report.id.startswith("fsar_") and "All " in report.proposal
    backup = next(r for r in audit.results if r.name == "backup")
    assert backup.evidence["restored_rows"] == backup.evidence["live_rows"]  # really restored
    with session_scope(migrated, readonly=True) as session:
        assert session.get(FsarRecord, report.id) is not None
        assert gate.status(session).open
    assert parse_markdown(render_markdown(report)) == report.__class__(
        **{**report.__dict__, "findings": ()}
    )


def test_a_drifted_schema_fails_hard_closes_the_gate_and_only_an_ack_reopens_it(migrated):
    healthy(migrated)
    with migrated.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE execution_tasks DROP COLUMN order_id")
    audit = run_audit(migrated, get_settings())
    results = {r.name: r for r in audit.results}
    assert not results["schema"].passed and results["schema"].hard
    assert "execution_tasks.order_id" in results["schema"].summary
    assert results["task_performance"].passed  # checks that need nothing missing still run
    assert results["canary.forged_webhook"].passed
    assert audit.closed_gate and audit.report.block_execution and audit.report.severity == 9
    assert "execution_tasks.order_id" in audit.report.proposal
    with session_scope(migrated) as session:
        assert gate.status(session).report_id == audit.report.id
        with pytest.raises(BadInput, match=audit.report.id):
            gate.resume(session, actor="ops")
    with migrated.begin() as connection:  # repaired: the next audit passes...
        connection.exec_driver_sql("ALTER TABLE execution_tasks ADD COLUMN order_id VARCHAR(40)")
    assert check_schema(migrated).clean
    again = run_audit(migrated, get_settings())
    assert [r.name for r in again.results if not r.passed] == ["alert_delivery"]  # none set
    assert not again.closed_gate
    with session_scope(migrated) as session:  # ...but the gate waits for a person
        assert not gate.status(session).open
        assert gate.resume(session, actor="ops", ack=audit.report.id).open


def test_a_check_that_crashes_fails_with_the_reason(migrated):
    def broken(context: AuditContext):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("division by zero")

    context = AuditContext(migrated, get_settings(), utcnow(), check_schema(migrated),
                           timedelta(days=1))  # fmt: skip
    result = run_check(Registered("broken", broken, (), canary=True), context)
    assert not result.passed and result.hard and "ZeroDivisionError" in result.summary
    with migrated.begin() as connection:
        connection.exec_driver_sql("DROP TABLE task_spans")
    drifted = AuditContext(migrated, get_settings(), utcnow(), check_schema(migrated),
                           timedelta(days=1))  # fmt: skip
    ran = []
    needing = Registered("needs_spans", lambda c: ran.append(c), ("task_spans",), canary=False)
    blocked = run_check(needing, drifted)
    assert not blocked.passed and ran == [] and "lacks the table(s) task_spans" in blocked.summary


def test_the_commands_run_show_and_import_reports(migrated, cli, tmp_path):
    ran = cli("audit", "run", "--json")
    assert ran.exit_code == 1  # no backup, never reconciled
    report = json.loads(ran.stdout)
    assert report["id"].startswith("fsar_") and report["passed"] is False
    shown = cli("fsar", "show", report["id"])
    assert shown.exit_code == 0 and shown.stdout.startswith("# FSAR Proposal Report\n")
    assert f"- id: {report['id']}" in shown.stdout and "## Mitigations" in shown.stdout
    as_json = json.loads(cli("fsar", "show", report["id"], "--format", "json").stdout)
    assert as_json["severity"] == report["severity"] and as_json["findings"]
    path = tmp_path / "report.md"
    path.write_text(shown.stdout.replace(report["id"], "fsar_00000000-0000-4000-8000-000000000001"))
    imported = cli("fsar", "import", str(path))
    assert imported.exit_code == 0, imported.output
    again = cli("fsar", "import", str(path))
    assert again.exit_code == 2 and "already stored" in again.stderr
    listed = json.loads(cli("audit", "list", "--json").stdout)
    assert {r["origin"] for r in listed} == {"audit", "import"}
    assert cli("fsar", "show", "fsar_nope").exit_code == 2
    bad = tmp_path / "bad.md"
    bad.write_text("# Not a report\n")
    refused = cli("fsar", "import", str(bad))
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    with session_scope(readonly=True) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(FsarRecord)).scalar() == 2


def test_a_task_types_p95_is_measured_and_its_growth_over_the_last_window_fails(migrated):
    from governor.audits.checks import CHECKS
    from tests.factories import insert_task

    now = utcnow()
    durations = [1000 * ((i * 7) % 20 + 1) for i in range(20)]  # 1 s … 20 s, shuffled
    for i, duration in enumerate(durations):
        insert_task(
            migrated,
            type="write_copy",
            duration_ms=duration,
            finished_at=now - timedelta(hours=30, minutes=i),
        )  # the window before
        insert_task(migrated, type="write_copy", duration_ms=2 * duration,
                    finished_at=now - timedelta(hours=3, minutes=i))  # fmt: skip
    context = AuditContext(migrated, get_settings(), now, check_schema(migrated),
                           timedelta(days=1))  # fmt: skip
    result = run_check(CHECKS["task_performance"], context)
    measured = result.evidence["types"]["write_copy"]
    assert (measured["previous_p95_ms"], measured["p95_ms"]) == (19_050, 38_100)
    assert not result.passed and "write_copy p95 rose from 19.1 s to 38.1 s (+100%)" in (
        result.summary
    )


def test_an_audit_of_a_database_never_migrated_says_so_without_a_traceback(engine, cli):
    ran = cli("audit", "run")
    assert ran.exit_code == 1 and "Traceback" not in ran.output
    assert "FAIL 9  schema" in ran.stdout and "run `governor db upgrade`" in ran.stdout
    listed = cli("audit", "list")
    assert listed.exit_code == 2 and "no FSAR reports table" in listed.stderr
