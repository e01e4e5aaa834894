"""The stand-in's "Balance change from activity, itemized" report, from its balance transactions."""

from datetime import UTC, datetime

from governor.demo.stripe_server.objects import Obj
from governor.demo.stripe_server.store import StripeStore
from governor.revenue.report import ReportRow

# Stripe's balance-change report leaves payouts out: they are the Balance report's other section.
PAYOUT_CATEGORIES = frozenset({"payout", "payout_reversal"})


def itemized_report(
    store: StripeStore,
    since: int | None = None,
    until: int | None = None,
    *,
    include_payouts: bool = False,
) -> list[ReportRow]:
    """Rows for the balance transactions created in [since, until), oldest first.

    As in Stripe's report, payouts are not rows (pass `include_payouts` to have them); the
    transactions a payout carried name it in `payout_id` (automatic_payout_id).
    """
    rows = []
    for txn in reversed(store.all("balance_transactions")):  # all() lists newest first
        if since is not None and txn["created"] < since:
            continue
        if until is not None and txn["created"] >= until:
            continue
        if not include_payouts and txn["reporting_category"] in PAYOUT_CATEGORIES:
            continue
        rows.append(_row(txn, store.paid_out_in(txn["id"])))
    return rows


def _row(txn: Obj, payout_id: str | None) -> ReportRow:
    return ReportRow(
        id=txn["id"],
        created=datetime.fromtimestamp(txn["created"], UTC),
        available_on=datetime.fromtimestamp(txn["available_on"], UTC),
        currency=txn["currency"],
        amount_minor=txn["amount"],
        fee_minor=txn["fee"],
        net_minor=txn["net"],
        reporting_category=txn["reporting_category"],
        source_id=txn["source"] or None,
        description=txn["description"] or None,
        payout_id=payout_id,
    )
