"""Running an audit: every check and canary, the FSAR report written and stored, the gate
policy applied; and reading, importing and rendering stored reports."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.alerts.service import raise_alert
from governor.audits import (  # noqa: F401  (registers the checks)
    canaries,
    checks_friction,
    checks_money,
    checks_system,
    checks_tasks,
)
from governor.audits.checks import CHECKS, AuditContext, CheckResult, run_check
from governor.audits.fsar import FsarReport
from governor.audits.writer import write_report
from governor.config import Settings
from governor.errors import BadInput, NotFound
from governor.models import FsarRecord
from governor.models.types import utcnow
from governor.storage.db import session_scope
from governor.storage.guard import check_schema
from governor.tasks import gate
from governor.tasks.schedule import parse_period

AUDITOR = "audit"


@dataclass(frozen=True)
class Audit:
    """One audit's outcome: the report, each check's result, and whether it closed the gate."""

    report: FsarReport
    results: list[CheckResult]
    closed_gate: bool
    stored: bool = True

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def blocks(results: list[CheckResult], settings: Settings) -> bool:
    """The gate policy: a failing hard gate, or a failure at least as severe as the setting."""
    return any(
        not r.passed and (r.hard or r.severity >= settings.audit_block_severity) for r in results
    )


def run_audit(engine: Engine, settings: Settings, *, now: datetime | None = None) -> Audit:
    """Run every check, write and store the report, close the gate if the policy says so, and
    raise an alert for a failing audit. Runs on a drifted database too: the drift is a failing
    hard gate, and checks that need what drifted fail with the reason."""
    now = now or utcnow()
    context = AuditContext(
        engine,
        settings,
        now,
        check_schema(engine),
        parse_period(settings.audit_window, "GOVERNOR_AUDIT_WINDOW"),
    )
    results = [run_check(registered, context) for registered in CHECKS.values()]
    blocked = blocks(results, settings)
    report = write_report(results, now, block_execution=blocked, every=settings.audit_every)
    if not _can_store(engine):  # a database too far behind to keep the report or close the gate
        return Audit(report, results, closed_gate=False, stored=False)
    with session_scope(engine) as session:
        store(session, report, origin="audit", passed=not any(not r.passed for r in results))
        failing = [r for r in results if not r.passed]
        if failing:
            raise_alert(
                session,
                kind="audit",
                severity=report.severity,
                fingerprint="audit:failing",
                title=_headline(report, failing),
                details={"report_id": report.id, "failing": [r.name for r in failing]},
            )
        if blocked:
            gate.pause(
                session, reason=_headline(report, failing), actor=AUDITOR, report_id=report.id
            )
    return Audit(report, results, blocked)


def _can_store(engine: Engine) -> bool:
    with engine.connect() as connection:
        found = set(sa.inspect(connection).get_table_names())
    return {"fsar_reports", "gate_events", "alerts"} <= found


def _headline(report: FsarReport, failing: list[CheckResult]) -> str:
    names = ", ".join(r.name for r in failing)
    return f"Audit {report.id} failed {len(failing)} check(s) ({names}); severity {report.severity}"


def store(session: Session, report: FsarReport, *, origin: str, passed: bool) -> FsarRecord:
    """Keep a report; an id already stored is refused."""
    if session.get(FsarRecord, report.id) is not None:
        raise BadInput(
            f"Report {report.id} is already stored.",
            hint="Each report is kept once; show it with `governor fsar show`.",
        )
    record = FsarRecord(
        id=report.id,
        created_at=report.timestamp,
        severity=report.severity,
        block_execution=report.block_execution,
        passed=passed,
        origin=origin,
        proposal=report.proposal,
        risks=list(report.risks),
        mitigations=list(report.mitigations),
        findings=list(report.findings),
    )
    session.add(record)
    session.flush()
    return record


def to_report(record: FsarRecord) -> FsarReport:
    """A stored report in its own form."""
    return FsarReport(
        id=record.id,
        timestamp=record.created_at,
        severity=record.severity,
        block_execution=record.block_execution,
        proposal=record.proposal,
        risks=tuple(record.risks),
        mitigations=tuple(record.mitigations),
        findings=tuple(record.findings or ()),
    )


def get_report(session: Session, report_id: str) -> FsarRecord:
    """One stored report; NotFound names how to list them."""
    record = session.get(FsarRecord, report_id)
    if record is None:
        raise NotFound(f"No FSAR report {report_id}.", hint="List them with `governor audit list`.")
    return record


def list_reports(session: Session, *, limit: int = 50) -> list[FsarRecord]:
    """Stored reports, newest first."""
    query = sa.select(FsarRecord).order_by(FsarRecord.created_at.desc()).limit(limit)
    return list(session.scalars(query))
