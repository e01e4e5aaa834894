"""Audits' system task: the scheduled audit, enqueued by `serve`'s scheduler whichever executor
runs it (the embedded one or Celery workers)."""

from typing import Any

from governor.audits.service import run_audit
from governor.config import get_settings
from governor.storage.db import get_engine
from governor.tasks.context import TaskContext
from governor.tasks.schedule import system_task


@system_task("audits.run", every=lambda s: s.audit_every, timeout=1800, concurrency=1)
def scheduled_audit(ctx: TaskContext) -> dict[str, Any]:
    """Run every check and canary; a failing hard gate closes the gate."""
    audit = run_audit(get_engine(), get_settings())
    return {"report_id": audit.report.id, "passed": audit.passed,
            "severity": audit.report.severity, "closed_gate": audit.closed_gate}  # fmt: skip
