"""Checks of the money: the newest reconciliation, failed charges, and revenue against its usual
level."""

from collections import defaultdict

import sqlalchemy as sa

from governor.analytics.kpis import moved_money
from governor.analytics.rollups import LEDGER, cells
from governor.audits.checks import AuditContext, CheckResult, check
from governor.models import Discrepancy, LedgerEntry, ReconciliationRun
from governor.revenue.currency import format_minor

MIN_CHARGES = 5
"""Usual charges per window below which a drop of revenue is not judged (too few to tell)."""
MONEY_MISSING = ("missing_in_ledger", "amount_mismatch", "payout_mismatch")
"""Discrepancies that mean money the ledger does not account for: a hard gate."""


@check("reconciliation", needs=("reconciliation_runs", "discrepancies"))
def reconciliation(context: AuditContext) -> CheckResult:
    """The newest reconciliation found the ledger and Stripe in agreement."""
    with context.reading() as session:
        run = session.scalar(
            sa.select(ReconciliationRun)
            .where(ReconciliationRun.finished_at.is_not(None))
            .order_by(ReconciliationRun.finished_at.desc())
            .limit(1)
        )
        if run is None:
            return CheckResult(
                "reconciliation",
                False,
                5,
                "No reconciliation has ever finished.",
                {},
                action="Run `governor stripe reconcile` (with an API key or an itemized report).",
                risk="Missing money and double charges go unseen.",
            )
        # Failed charges have a check of their own.
        found = list(session.scalars(
            sa.select(Discrepancy).where(Discrepancy.run_id == run.id,
                                         Discrepancy.kind != "failed_charge")
        ))  # fmt: skip
    by_kind: dict[str, list[str]] = {}
    for item in found:
        by_kind.setdefault(item.kind, []).append(item.stripe_id)
    evidence = {
        "run_id": run.id,
        "window": [run.window_start.isoformat(), run.window_end.isoformat()],
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "discrepancies": {k: v[:10] for k, v in by_kind.items()},
    }
    if not found:
        return CheckResult(
            "reconciliation", True, 0, f"Reconciliation {run.id} was clean.", evidence
        )
    missing = {k: v for k, v in by_kind.items() if k in MONEY_MISSING}
    listed = "; ".join(
        f"{len(v)} {k.replace('_', ' ')} ({', '.join(v[:3])})" for k, v in sorted(by_kind.items())
    )
    return CheckResult(
        "reconciliation",
        False,
        8 if missing else 6,
        f"Reconciliation {run.id} found {len(found)} discrepancies: {listed}.",
        evidence,
        hard=bool(missing),
        action="Open each discrepancy's Stripe id; replay or import the missing facts "
        "(`governor stripe replay`, `stripe sync`) and reconcile again.",
        risk="The ledger does not account for money Stripe moved: revenue, ROI and payouts "
        "are wrong, and theft would look the same.",
    )


@check("failed_charges", needs=("ledger_entries",))
def failed_charges(context: AuditContext) -> CheckResult:
    """Charges that failed in the window."""
    start = context.now - context.window
    with context.reading() as session:
        rows = session.execute(
            sa.select(LedgerEntry.source_ref, LedgerEntry.amount_minor, LedgerEntry.currency)
            .where(
                LedgerEntry.kind == "charge",
                LedgerEntry.status == "failed",
                LedgerEntry.occurred_at >= start,
                LedgerEntry.occurred_at < context.now,
            )
            .order_by(LedgerEntry.occurred_at.desc())
        ).all()
    evidence = {
        "since": start.isoformat(),
        "failed": len(rows),
        "charges": [{"id": r[0], "amount_minor": r[1], "currency": r[2]} for r in rows[:10]],
    }
    if not rows:
        return CheckResult("failed_charges", True, 0, "No charge failed in the window.", evidence)
    return CheckResult(
        "failed_charges",
        False,
        5,
        f"{len(rows)} charge(s) failed since {start:%d %b %H:%M} "
        f"UTC, e.g. {', '.join(r[0] for r in rows[:3])}.",
        evidence,
        action="Check each charge's decline reason in Stripe; retry or contact the customer.",
        risk="Orders that look sold are unpaid; repeated failures can mean a broken checkout.",
    )


@check("revenue_trend", needs=("ledger_entries", "ledger_daily", "ledger_hourly"))
def revenue_trend(context: AuditContext) -> CheckResult:
    """Gross revenue of the window against the mean of the seven windows before it, per
    currency: a drop of more than the growth limit fails."""
    end, width = context.now, context.window
    start = end - 8 * width
    with context.reading() as session:
        found = cells(session, LEDGER, start, end, grain=None, keys=("currency", "kind", "status"))
        recent = cells(
            session, LEDGER, end - width, end, grain=None, keys=("currency", "kind", "status")
        )
    before, now = _gross(found), _gross(recent)
    limit = context.settings.audit_growth
    rows, drops = {}, []
    for currency in sorted(set(before) | set(now)):
        (total, charges), (current, current_charges) = before[currency], now[currency]
        usual, usual_charges = (total - current) / 7, (charges - current_charges) / 7
        rows[currency] = {"window_minor": current, "usual_minor": round(usual),
                          "window_charges": current_charges,
                          "usual_charges": round(usual_charges, 1)}  # fmt: skip
        # Fewer than MIN_CHARGES sales a window: a quiet day is chance, not a drop.
        if usual_charges >= MIN_CHARGES and current < usual * (1 - min(limit, 0.99)):
            drops.append(
                f"{currency.upper()} {format_minor(current, currency)} in the last "
                f"{context.settings.audit_window} ({current_charges} charges), against "
                f"{format_minor(round(usual), currency)} ({usual_charges:.1f} charges) usually "
                f"({current / usual - 1:+.0%})"
            )
    evidence = {"window": context.settings.audit_window, "currencies": rows}
    if not drops:
        return CheckResult("revenue_trend", True, 0, "Revenue is within its usual range.", evidence)
    return CheckResult(
        "revenue_trend",
        False,
        6,
        "Gross revenue dropped: " + "; ".join(drops) + ".",
        evidence,
        action="Check the checkout, the offers' pages and payment failures for the window; "
        "compare with the monitors' anomalies on the overview.",
        risk="Lost sales accumulate silently while costs go on.",
    )


def _gross(found: list[dict[str, object]]) -> defaultdict[str, tuple[int, int]]:
    """Gross charged amount and number of charges per currency."""
    sums: defaultdict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for cell in found:
        if cell["kind"] == "charge" and moved_money(str(cell["status"])):
            amount, count = sums[str(cell["currency"])]
            sums[str(cell["currency"])] = (amount + int(str(cell["amount_minor"])),
                                           count + int(str(cell["entries"])))  # fmt: skip
    return sums
