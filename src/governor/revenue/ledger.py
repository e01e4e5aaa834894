"""Writing the ledger: facts merged by object id with Stripe's time as the watermark, in bulk."""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from governor.ids import new_id
from governor.models import LedgerEntry, StripeBalanceTransaction
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.revenue.translate import (
    LINKS,
    STATUS_RANK,
    BalanceFact,
    EntryFact,
    account_fact,
    fee_fact,
    status_rank,
)
from governor.storage.upsert import upsert

_FILLABLE = ("balance_transaction_id", "charge_id", "payment_intent_id", "description", *LINKS)
_FIELDS = ("amount_minor", "currency", "status", "occurred_at", *_FILLABLE)
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
"""The watermark of an entry only weak facts made: any fact of the object itself beats it."""


@dataclass(frozen=True)
class Stated:
    """A fact as one event (or a fetch of the object) stated it, with Stripe's time of it."""

    fact: EntryFact
    watermark: datetime
    event_id: str | None = None


def record(
    session: Session, fact: EntryFact, *, watermark: datetime, event_id: str | None = None
) -> None:
    """Insert or merge one fact (see record_many)."""
    record_many(session, [Stated(fact, watermark, event_id)])


def record_all(
    session: Session, facts: Iterable[EntryFact], *, watermark: datetime, event_id: str | None
) -> None:
    """Record several facts of one event or object."""
    record_many(session, [Stated(fact, watermark, event_id) for fact in facts])


def record_many(session: Session, stated: Sequence[Stated]) -> None:
    """Insert or merge facts; the ledger does not depend on the order they arrive in.

    A newer fact (later Stripe time, or the same time and a further status) sets the fields
    it knows; an older or `weak` one only fills fields still empty. Facts about one entry are
    merged here first, then each entry is written by one upsert that applies the same rule
    against the stored row, so concurrent writers cannot lose each other's facts.
    """
    merged: dict[tuple[str, str], Stated] = {}
    for item in stated:
        key = (item.fact.kind, item.fact.source_ref)
        merged[key] = _merge(merged[key], item) if key in merged else item
    now = utcnow()
    strong = [_row(item, now) for item in merged.values() if not item.fact.weak]
    weak = [_row(item, now) for item in merged.values() if item.fact.weak]
    _upsert(session, _strong_changes, strong)
    _upsert(session, _weak_changes, weak)
    charges = sorted({item.fact.charge_id for item in merged.values() if item.fact.charge_id})
    if charges:
        copy_links(session, charges)


def _merge(old: Stated, new: Stated) -> Stated:
    """The upsert's rule, between two facts about one entry."""
    if old.fact.weak != new.fact.weak:
        strong, weak = (new, old) if old.fact.weak else (old, new)
        return Stated(_fill(strong.fact, weak.fact), strong.watermark, strong.event_id)
    first, second = sorted((old, new), key=lambda s: (s.watermark, status_rank(s.fact.status)))
    return Stated(_fill(second.fact, first.fact), second.watermark, second.event_id)


def _fill(winner: EntryFact, other: EntryFact) -> EntryFact:
    gaps = {name: getattr(other, name) for name in _FILLABLE if getattr(winner, name) is None}
    return replace(winner, **gaps)


def _row(item: Stated, now: datetime) -> dict[str, object]:
    fact = item.fact
    row: dict[str, object] = {
        name: getattr(fact, name) for name in ("kind", "source_ref", *_FIELDS)
    }
    row.update(id=new_id("led"), source="stripe", event_id=item.event_id, created_at=now,
               updated_at=now, watermark=NEVER if fact.weak else item.watermark)  # fmt: skip
    return row


def _rank(status: Any) -> Any:
    return case(STATUS_RANK, value=status, else_=2)


def _strong_changes(table: Table, excluded: Any) -> dict[str, Any]:
    """ON CONFLICT changes for a fact of the object itself: newer wins, older fills gaps."""
    newer = or_(
        excluded.watermark > table.c.watermark,
        and_(excluded.watermark == table.c.watermark,
             _rank(excluded.status) >= _rank(table.c.status)),
    )  # fmt: skip
    changes: dict[str, Any] = {"updated_at": excluded.updated_at}
    for name in (*_FIELDS, "watermark", "event_id"):
        mine, theirs = table.c[name], excluded[name]
        if name in _FILLABLE:
            changes[name] = case((newer, func.coalesce(theirs, mine)),
                                 else_=func.coalesce(mine, theirs))  # fmt: skip
        else:
            changes[name] = case((newer, theirs), else_=mine)
    return changes


def _weak_changes(table: Table, excluded: Any) -> dict[str, Any]:
    """ON CONFLICT changes for a weak fact: it only fills fields still empty."""
    return {name: func.coalesce(table.c[name], excluded[name]) for name in _FILLABLE}


def _upsert(session: Session, changes: Any, rows: list[dict[str, object]]) -> None:
    upsert(session, table_of(LedgerEntry), rows, key=("kind", "source_ref"), changes=changes)


def record_balance(session: Session, txns: Sequence[BalanceFact], *, origin: str) -> int:
    """Store Stripe's balance transactions and what only they tell the ledger (fees).

    Principal entries (charges, refunds, …) come from Stripe's objects, never from here, so a
    balance change with no object in the ledger stays visible to reconciliation. Written in
    bulk: an itemized report can hold a million rows.
    """
    if not txns:
        return 0
    now = utcnow()
    upsert(
        session,
        table_of(StripeBalanceTransaction),
        [_mirror_row(txn, origin, now) for txn in txns],
        key=("id",),
        keep=("payout_id",),
    )
    learned = [f for txn in txns for f in (fee_fact(txn), account_fact(txn)) if f is not None]
    record_many(session, [Stated(fact, fact.occurred_at) for fact in learned])
    entries = table_of(LedgerEntry)
    session.execute(
        entries.update()
        .where(entries.c.kind == bindparam("k"), entries.c.source_ref == bindparam("r"),
               entries.c.balance_transaction_id.is_(None))
        .values(balance_transaction_id=bindparam("t")),
        [{"k": t.ledger_kind, "r": t.match_ref, "t": t.id} for t in txns],
    )  # fmt: skip
    return len(txns)


def copy_links(session: Session, charge_ids: list[str]) -> None:
    """Give the unlinked entries of these charges (refunds, fees, disputes) the charge's links."""
    entries = table_of(LedgerEntry)
    parent = entries.alias("parent")
    for start in range(0, len(charge_ids), 500):
        chunk = charge_ids[start : start + 500]
        linked = {
            key: select(parent.c[key])
            .where(parent.c.kind == "charge", parent.c.source_ref == entries.c.charge_id)
            .scalar_subquery()
            for key in LINKS
        }
        session.execute(
            entries.update()
            .where(entries.c.charge_id.in_(chunk), entries.c.kind != "charge",
                   entries.c.order_id.is_(None))
            .values(linked)
        )  # fmt: skip


def _mirror_row(txn: BalanceFact, origin: str, now: datetime) -> dict[str, object]:
    row = asdict(txn)
    row.update(ledger_kind=txn.ledger_kind, match_ref=txn.match_ref, origin=origin, updated_at=now)
    return row
