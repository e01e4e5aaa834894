"""Checks of the agents' work: where each task type spends its time against the previous
window and the other types, failure and retry rates, and outside services pushing back."""

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.audits.checks import AuditContext, CheckResult, check
from governor.models import ExecutionTask, TaskSpan
from governor.tracing.profiles import percentile, profile

T = ExecutionTask


def _finished(
    session: Session, start: datetime, end: datetime, *, kind: str | None = None
) -> dict[str, list[Any]]:
    """Duration, cost, status and attempts of the tasks (of one kind) finished in [start,
    end), per type."""
    query = sa.select(T.type, T.duration_ms, T.cost_micros, T.status, T.attempts).where(
        T.finished_at >= start, T.finished_at < end
    )
    rows = session.execute(query if kind is None else query.where(T.kind == kind))
    found: dict[str, list[Any]] = defaultdict(list)
    for type_, *values in rows:
        found[type_].append(values)
    return found


@check("task_performance", needs=("execution_tasks", "task_spans"))
def task_performance(context: AuditContext) -> CheckResult:
    """Per task type: p95 duration and cost per task against the previous window, and a type
    far slower than the others, with the spans that make it slow."""
    settings, end = context.settings, context.now
    start, before = end - context.window, end - 2 * context.window
    with context.reading() as session:  # the agents' work: system tasks take milliseconds
        now = _finished(session, start, end, kind="agent")
        then = _finished(session, before, start, kind="agent")
        profiles = {p.task_type: p for p in profile(session, since=start)}
    means = {type_: sum(r[0] or 0 for r in rows) / len(rows) for type_, rows in now.items()}
    types: dict[str, dict[str, Any]] = {}
    findings: list[str] = []
    for type_, rows in sorted(now.items()):
        others = sorted(mean for other, mean in means.items() if other != type_)
        typical = percentile(others, 50)
        times = means[type_] / typical if typical > 0 else None
        p95 = percentile(sorted(r[0] or 0 for r in rows), 95)
        cost = sum(r[1] or 0 for r in rows) / len(rows)
        old = then.get(type_, [])
        old_p95 = percentile(sorted(r[0] or 0 for r in old), 95) if old else None
        old_cost = sum(r[1] or 0 for r in old) / len(old) if old else None
        slow = profiles.get(type_)
        types[type_] = {
            "tasks": len(rows),
            "p95_ms": round(p95),
            "previous_p95_ms": None if old_p95 is None else round(old_p95),
            "cost_per_task_micros": round(cost),
            "previous_cost_per_task_micros": None if old_cost is None else round(old_cost),
            "times_other_types": None if times is None else round(times, 1),
            "bottleneck": None if slow is None else slow.bottleneck,
            "repeated_queries": []
            if slow is None
            else [q.statement for q in slow.repeated_queries[:3]],
        }
        if times is not None and times >= settings.audit_slow_ratio:
            findings.append(
                f"{type_} takes {times:.1f} times the median of the other agent task types "
                f"(mean {means[type_] / 1000:.1f} s, p95 {p95 / 1000:.1f} s); "
                f"bottleneck: {(slow.bottleneck if slow else None) or 'unknown'}"
                + "".join(
                    f"; repeated in each task: {q.per_task} times {q.statement}"
                    for q in (slow.repeated_queries[:2] if slow else [])
                )
            )
        if old_p95 and p95 >= old_p95 * (1 + settings.audit_growth):
            findings.append(
                f"{type_} p95 rose from {old_p95 / 1000:.1f} s to {p95 / 1000:.1f} s "
                f"({p95 / old_p95 - 1:+.0%})"
            )
        if old_cost and cost >= old_cost * (1 + settings.audit_growth):
            findings.append(
                f"{type_} cost per task rose from ${old_cost / 1e6:.4f} to "
                f"${cost / 1e6:.4f} ({cost / old_cost - 1:+.0%})"
            )
    evidence = {"window": [start.isoformat(), end.isoformat()], "types": types}
    if not findings:
        return CheckResult(
            "task_performance",
            True,
            0,
            f"{len(types)} task type(s) within their previous window and each other.",
            evidence,
        )
    return CheckResult(
        "task_performance",
        False,
        6,
        "; ".join(findings) + ".",
        evidence,
        action="Profile the slow type (`governor tasks profile TYPE`): batch its repeated "
        "queries, cache or parallelise its slow outside calls, and run independent "
        "steps in parallel.",
        risk="Slow tasks hold workers, delay fulfilment and cost more per order.",
    )


@check("task_failures", needs=("execution_tasks",))
def task_failures(context: AuditContext) -> CheckResult:
    """Per task type: the share of tasks that failed, and of those that needed retries."""
    settings, start = context.settings, context.now - context.window
    with context.reading() as session:
        now = _finished(session, start, context.now)
    types, findings = {}, []
    for type_, rows in sorted(now.items()):
        failed = sum(r[2] == "failed" for r in rows) / len(rows)
        retried = sum((r[3] or 0) > 1 for r in rows) / len(rows)
        types[type_] = {
            "tasks": len(rows),
            "failure_rate": round(failed, 4),
            "retry_rate": round(retried, 4),
        }
        if failed >= settings.audit_failure_rate:
            findings.append(f"{failed:.0%} of {len(rows)} {type_} tasks failed")
        if retried >= settings.audit_retry_rate:
            findings.append(f"{retried:.0%} of {len(rows)} {type_} tasks needed retries")
    evidence = {
        "since": start.isoformat(),
        "types": types,
        "limits": {
            "failure_rate": settings.audit_failure_rate,
            "retry_rate": settings.audit_retry_rate,
        },
    }
    if not findings:
        return CheckResult(
            "task_failures", True, 0, "Failure and retry rates are within their limits.", evidence
        )
    return CheckResult(
        "task_failures",
        False,
        5,
        "; ".join(findings) + ".",
        evidence,
        action="Read the failed tasks' errors (`governor tasks list --status failed`) and fix "
        "the commonest cause first.",
        risk="Retries hide failing work and multiply its cost.",
    )


@check("outbound", needs=("task_spans",))
def outbound(context: AuditContext) -> CheckResult:
    """Outside calls answered 429 (rate-limited), retried, or refused by an open breaker."""
    start = context.now - context.window
    with context.reading() as session:
        spans = session.execute(
            sa.select(TaskSpan.attributes).where(
                TaskSpan.kind == "http",
                TaskSpan.started_at >= start,
                TaskSpan.started_at < context.now,
            )
        ).scalars()
        hosts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for attributes in spans:
            attributes = attributes or {}
            host = hosts[str(attributes.get("server.address", "?"))]
            host["calls"] += 1
            status = attributes.get("http.response.status_code")
            host["answered_429"] += status == 429
            host["retried"] += int(attributes.get("governor.outbound.attempts", 1) or 1) > 1
            host["unanswered"] += status is None
    limit = context.settings.audit_throttled_rate
    findings = []
    for name, counts in sorted(hosts.items()):
        pushed = (counts["answered_429"] + counts["retried"]) / counts["calls"]
        if pushed >= limit:
            findings.append(
                f"{name}: {counts['answered_429']} of {counts['calls']} calls ended "
                f"in 429 and {counts['retried']} needed retries"
            )
        if counts["unanswered"] / counts["calls"] >= limit:
            findings.append(
                f"{name}: {counts['unanswered']} of {counts['calls']} calls got no "
                "answer (network error or open circuit breaker)"
            )
    evidence = {
        "since": start.isoformat(),
        "hosts": {k: dict(v) for k, v in hosts.items()},
        "limit": limit,
    }
    if not findings:
        return CheckResult(
            "outbound",
            True,
            0,
            f"{sum(h['calls'] for h in hosts.values())} outside call(s), within limits.",
            evidence,
        )
    return CheckResult(
        "outbound",
        False,
        5,
        "; ".join(findings) + ".",
        evidence,
        action="Lower that host's rate in GOVERNOR_OUTBOUND_LIMITS to what it accepts, and "
        "spread bursts (offer creation peaks) over time.",
        risk="A service that throttles us slows every task that needs it and may ban the key.",
    )
