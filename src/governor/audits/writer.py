"""The deterministic writer: an FSAR report's proposal, risks and mitigations written from the
checks' results, every number taken from their evidence."""

from datetime import datetime, timedelta

from governor.audits.checks import CheckResult
from governor.audits.fsar import (
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    MAX_PROPOSAL_CHARS,
    FsarReport,
    new_report_id,
)

TITLES = {
    "schema": "Fix the database schema",
    "backup": "Keep the rollback artifacts warm",
    "reconciliation": "Reconcile the ledger with Stripe",
    "failed_charges": "Follow up failed charges",
    "revenue_trend": "Find why revenue dropped",
    "alert_delivery": "Make alerts reach a person",
    "open_monitor_alerts": "Resolve open anomalies and drifts",
    "task_performance": "Optimise task execution time and cost",
    "task_failures": "Reduce task failures and retries",
    "outbound": "Throttle calls to outside services",
    "fulfilment_sla": "Fulfil paid orders within their SLA",
    "fulfilment_providers": "Repair or throttle the failing fulfilment providers",
    "checkout_abandonment": "Find why buyers abandon checkout",
    "ratings": "Find why customers' ratings fell",
    "canary.forged_webhook": "Repair webhook verification",
    "canary.scratch": "Repair reconciliation and the schema guard",
    "canary.detectors": "Repair anomaly and drift detection",
}


def write_report(
    results: list[CheckResult], now: datetime, *, block_execution: bool, every: str
) -> FsarReport:
    """The report of one audit: severity of the worst failure, and prose from the evidence."""
    failing = sorted((r for r in results if not r.passed), key=lambda r: -r.severity)
    return FsarReport(
        id=new_report_id(),
        timestamp=now,
        severity=max((r.severity for r in failing), default=0),
        block_execution=block_execution,
        proposal=clip(_proposal(results, failing, block_execution), MAX_PROPOSAL_CHARS),
        risks=_clip_items(_risks(failing, now)),
        mitigations=_clip_items(_mitigations(results, failing, every)),
        findings=tuple(r.to_dict() for r in results),
    )


def _proposal(results: list[CheckResult], failing: list[CheckResult], blocked: bool) -> str:
    canaries = [r for r in results if r.name.startswith("canary.")]
    caught = sum(r.passed for r in canaries)
    if not failing:
        return (
            f"self_improvement:  All {len(results)} checks passed, and every monitor caught "
            f"its planted fault ({caught} of {len(canaries)} canaries). Nothing to change."
        )
    gate = " Agent tasks are stopped until a person acknowledges this report." if blocked else ""
    lines = [
        f"self_improvement:  {len(failing)} of {len(results)} checks failed; the worst has "
        f"severity {failing[0].severity}.{gate} In order of severity:",
        "",
    ]
    for number, result in enumerate(failing, start=1):
        title = TITLES.get(result.name, result.name)
        hard = " (hard gate)" if result.hard else ""
        lines += [
            f"{number}. **{title}{hard}:** {result.summary}",
            f"   - Action: {result.action}" if result.action else "",
            f"   - Risk if left: {result.risk}" if result.risk else "",
            "",
        ]
    passed = [r.name for r in results if r.passed]
    lines.append(f"Passed: {', '.join(passed) if passed else 'none'}.")
    return "\n".join(
        line for i, line in enumerate(lines) if line or (i and lines[i - 1])
    )  # no doubled blank lines


def _risks(failing: list[CheckResult], now: datetime) -> tuple[str, ...]:
    risks = [f"{TITLES.get(r.name, r.name)}: {r.risk}" for r in failing if r.risk]
    if any(r.name in ("task_performance", "open_monitor_alerts", "task_failures") for r in failing):
        risks.append(
            f"Slow failure: unnoticed degradation accumulating by "
            f"{(now + timedelta(days=365)):%Y-%m-%d}"
        )
    return tuple(risks) or ("None found by this audit; its canaries show the monitors work",)


def _mitigations(
    results: list[CheckResult], failing: list[CheckResult], every: str
) -> tuple[str, ...]:
    items = [f"{TITLES.get(r.name, r.name)}: {r.action}" for r in failing if r.action]
    items.append(f"Audit again every {every} with canaries and hard pass/fail gates")
    backup = next((r for r in results if r.name == "backup" and r.passed), None)
    if backup is not None:
        items.append(
            f"Rollback artifact tested: the newest backup "
            f"({backup.evidence.get('age_hours')} h old) restored and compared"
        )
    return tuple(items)


def clip(text: str, most: int) -> str:
    """The text cut to at most `most` characters, saying how much was left out."""
    if len(text) <= most:
        return text
    marker = " … ({:,} more characters in the findings)"
    keep = most - len(marker.format(len(text)))
    return text[:keep].rstrip() + marker.format(len(text) - keep)


def _clip_items(items: tuple[str, ...]) -> tuple[str, ...]:
    """At most MAX_ITEMS items of at most MAX_ITEM_CHARS each: an audit's report always stores."""
    return tuple(clip(item, MAX_ITEM_CHARS) for item in items[:MAX_ITEMS])
