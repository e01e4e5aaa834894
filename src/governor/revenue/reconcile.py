"""Reconciliation: the ledger against Stripe's balance transactions over a window, in SQL.

Every check is one query that returns only what disagrees, so a window of a million rows on
each side costs a few joins on indexed keys, not a million Python objects.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, and_, cast, exists, func, select
from sqlalchemy.orm import Session

from governor.alerts.service import raise_alert
from governor.ids import new_id
from governor.models import Discrepancy, LedgerEntry, ReconciliationRun, StripeBalanceTransaction
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.revenue.translate import OBJECT_KINDS

KINDS = (
    "missing_in_ledger", "missing_in_stripe", "amount_mismatch", "fee_mismatch",
    "currency_mismatch", "status_mismatch", "duplicate", "failed_charge", "payout_mismatch",
)  # fmt: skip

_SEVERITY = {"missing_in_ledger": 7, "missing_in_stripe": 7, "amount_mismatch": 7,
             "fee_mismatch": 4, "currency_mismatch": 7, "status_mismatch": 6, "duplicate": 6,
             "payout_mismatch": 8}  # fmt: skip

T = StripeBalanceTransaction
L = LedgerEntry


@dataclass(frozen=True)
class Window:
    """A half-open period [start, end) of Stripe `created` times, in UTC."""

    start: datetime
    end: datetime

    def to_dict(self) -> dict[str, str]:
        return {"since": self.start.isoformat(), "until": self.end.isoformat()}


@dataclass(frozen=True)
class Found:
    """One discrepancy: what kind, which Stripe id, what Stripe says and what the ledger says."""

    kind: str
    stripe_id: str
    expected: Any
    actual: Any
    currency: str | None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    """A finished run: its id, window, counts and discrepancies (sorted by kind, then id)."""

    run_id: str
    window: Window
    origin: str
    counts: dict[str, int]
    discrepancies: list[Found]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "window": self.window.to_dict(), "origin": self.origin,
                "counts": self.counts,
                "discrepancies": [d.to_dict() for d in self.discrepancies]}  # fmt: skip


def _matching_entry() -> Any:
    return and_(L.kind == T.ledger_kind, L.source_ref == T.match_ref)


def _in(column: Any, window: Window) -> Any:
    return and_(column >= window.start, column < window.end)


def compare(
    session: Session, window: Window, unseen: Sequence[str] = ()
) -> tuple[dict[str, int], list[Found]]:
    """Every discrepancy between the ledger and Stripe's balance transactions in the window.

    `unseen` names ledger kinds Stripe's side does not list (a report without payouts).
    """
    found = [
        *_stripe_side(session, window),
        *_missing_in_stripe(session, window, unseen),
        *_fees(session, window),
        *_duplicates(session, window),
        *_failed_charges(session, window),
        *_payouts(session, window),
    ]
    found.sort(key=lambda d: (d.kind, d.stripe_id))
    stripe_rows = session.scalar(select(func.count()).select_from(T).where(_in(T.created, window)))
    ledger_rows = session.scalar(
        select(func.count()).select_from(L).where(_in(L.occurred_at, window))
    )
    counts = {"stripe_transactions": stripe_rows or 0, "ledger_entries": ledger_rows or 0,
              "discrepancies": len(found)}  # fmt: skip
    by_kind: dict[str, int] = defaultdict(int)
    for item in found:
        by_kind[item.kind] += 1
    counts.update({kind: by_kind.get(kind, 0) for kind in KINDS})
    return counts, found


def _stripe_side(session: Session, window: Window) -> list[Found]:
    """Stripe's money with no ledger entry, or an entry that disagrees on amount/currency/status."""
    disagree = (
        L.id.is_(None) | (L.amount_minor != T.amount_minor) | (L.currency != T.currency)
        | and_(L.kind == "charge", L.status.in_(("failed", "canceled")))
    )  # fmt: skip
    query = (
        select(T.id, T.ledger_kind, T.match_ref, T.amount_minor, T.currency, T.reporting_category,
               L.id, L.amount_minor, L.currency, L.status)
        .outerjoin(L, _matching_entry())
        .where(_in(T.created, window), disagree)
    )  # fmt: skip
    found = []
    for (
        txn,
        kind,
        ref,
        amount,
        currency,
        category,
        entry,
        l_amount,
        l_currency,
        l_status,
    ) in session.execute(query):
        evidence: dict[str, Any] = {"balance_transaction": txn, "reporting_category": category,
                    "ledger_entry": entry, "ledger_kind": kind}  # fmt: skip
        if entry is None:
            found.append(Found("missing_in_ledger", ref, amount, None, currency, evidence))
        elif l_currency != currency:
            found.append(Found("currency_mismatch", ref, currency, l_currency, currency, evidence))
        elif l_amount != amount:
            found.append(Found("amount_mismatch", ref, amount, l_amount, currency, evidence))
        else:
            evidence["stripe_moved_money"] = True
            found.append(Found("status_mismatch", ref, "succeeded", l_status, currency, evidence))
    return found


def _missing_in_stripe(session: Session, window: Window, unseen: Sequence[str]) -> list[Found]:
    """Ledger entries of Stripe objects that no balance transaction backs."""
    no_money = and_(L.kind.in_(("charge", "refund")), L.status.in_(("failed", "canceled")))
    query = (
        select(L.id, L.kind, L.source_ref, L.amount_minor, L.currency, L.status, L.order_id)
        .outerjoin(T, and_(T.ledger_kind == L.kind, T.match_ref == L.source_ref))
        .where(_in(L.occurred_at, window), L.kind.in_(sorted(OBJECT_KINDS - set(unseen))),
               ~no_money, T.id.is_(None))
    )  # fmt: skip
    return [
        Found("missing_in_stripe", ref, None, amount, currency,
              {"ledger_entry": entry, "kind": kind, "status": status, "order_id": order})
        for entry, kind, ref, amount, currency, status, order in session.execute(query)
    ]  # fmt: skip


def _fees(session: Session, window: Window) -> list[Found]:
    """Stripe's fee on a balance transaction against the ledger's fee entry for it."""
    F = table_of(LedgerEntry).alias("fee")
    recorded = func.coalesce(-F.c.amount_minor, 0)
    query = (
        select(T.id, T.source_id, T.fee_minor, T.currency, F.c.id, recorded)
        .outerjoin(F, and_(F.c.kind == "fee", F.c.source_ref == T.id))
        .where(_in(T.created, window), recorded != T.fee_minor)
    )
    return [
        Found("fee_mismatch", txn, fee, ledger_fee, currency,
              {"source": source, "ledger_entry": entry})
        for txn, source, fee, currency, entry, ledger_fee in session.execute(query)
    ]  # fmt: skip


def _duplicates(session: Session, window: Window) -> list[Found]:
    """Orders paid by more than one charge that still holds money (a double charge).

    The orders with several succeeded charges are found by one aggregate; only their charges
    (few, usually none) are then read, with what was refunded of each.
    """
    paid = and_(_in(L.occurred_at, window), L.kind == "charge", L.status == "succeeded",
                L.order_id.is_not(None))  # fmt: skip
    several = select(L.order_id).where(paid).group_by(L.order_id).having(func.count() > 1)
    R = table_of(LedgerEntry).alias("refund")
    refunded = (
        select(func.coalesce(func.sum(-R.c.amount_minor), 0))
        .where(R.c.kind == "refund", R.c.charge_id == L.source_ref, R.c.status == "succeeded")
        .scalar_subquery()
    )
    query = (
        select(L.order_id, L.source_ref, L.amount_minor, L.currency)
        .where(paid, L.order_id.in_(several), L.amount_minor > refunded)
        .order_by(L.order_id, L.occurred_at, L.source_ref)
    )
    by_order: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for order, charge, amount, currency in session.execute(query):
        by_order[str(order)].append((charge, amount, currency))
    found = []
    for order, charges in by_order.items():
        for charge, amount, currency in charges[1:]:
            evidence = {"order_id": order, "charges": [c for c, _, _ in charges],
                        "amount_minor": amount}  # fmt: skip
            found.append(Found("duplicate", charge, 1, len(charges), currency, evidence))
    return found


def _failed_charges(session: Session, window: Window) -> list[Found]:
    """Charges that failed: money the business expected and did not get (a failed charge that
    Stripe did pay is a status mismatch, not this)."""
    paid = exists().where(T.ledger_kind == "charge", T.match_ref == L.source_ref)
    query = select(L.source_ref, L.amount_minor, L.currency, L.description, L.order_id).where(
        _in(L.occurred_at, window), L.kind == "charge", L.status == "failed", ~paid
    )
    return [
        Found("failed_charge", ref, amount, 0, currency, {"reason": reason, "order_id": order})
        for ref, amount, currency, reason, order in session.execute(query)
    ]


def _payouts(session: Session, window: Window) -> list[Found]:
    """Payouts whose balance transactions do not add up to the amount paid out."""
    M = table_of(StripeBalanceTransaction).alias("member")
    members = (
        select(
            M.c.payout_id,
            cast(func.sum(M.c.net_minor), BigInteger).label("net"),
            func.count().label("n"),
        )
        .where(M.c.ledger_kind != "payout", M.c.payout_id.is_not(None))
        .group_by(M.c.payout_id)
        .subquery()
    )
    query = (
        select(T.id, T.match_ref, T.amount_minor, T.currency, members.c.net, members.c.n)
        .join(members, members.c.payout_id == T.match_ref)
        .where(_in(T.created, window), T.ledger_kind == "payout",
               members.c.net != -T.amount_minor)
    )  # fmt: skip
    return [
        Found("payout_mismatch", payout, -amount, net, currency,
              {"balance_transaction": txn, "member_transactions": n})
        for txn, payout, amount, currency, net, n in session.execute(query)
    ]  # fmt: skip


def record(
    session: Session,
    window: Window,
    origin: str,
    *,
    task_id: str | None = None,
    unseen: Sequence[str] = (),
) -> Outcome:
    """Compare, store the run and its discrepancies, raise an alert for each open one."""
    started = utcnow()
    counts, found = compare(session, window, unseen)
    run = ReconciliationRun(
        id=new_id("rec"), window_start=window.start, window_end=window.end, origin=origin,
        status="discrepancies" if found else "clean", counts=counts, started_at=started,
        finished_at=utcnow(), task_id=task_id,
    )  # fmt: skip
    session.add(run)
    session.flush()
    if found:
        session.execute(
            table_of(Discrepancy).insert(),
            [{"id": new_id("dis"), "run_id": run.id, **item.to_dict()} for item in found],
        )
    for item in found:
        if item.kind in _SEVERITY:  # failed charges were alerted when they arrived
            _alert(session, item)
    return Outcome(run.id, window, origin, counts, found)


def _alert(session: Session, item: Found) -> None:
    words = item.kind.replace("_", " ")
    raise_alert(
        session, kind=f"reconciliation.{item.kind}", severity=_SEVERITY[item.kind],
        fingerprint=f"reconciliation:{item.kind}:{item.stripe_id}",
        title=f"Reconciliation: {words} for {item.stripe_id} (Stripe: {item.expected}, "
              f"ledger: {item.actual}{' ' + item.currency.upper() if item.currency else ''})",
        details=item.to_dict(),
    )  # fmt: skip
