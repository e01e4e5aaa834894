"""Writing the ledger: facts merged by object id with Stripe's time as the watermark."""

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from governor.ids import new_id
from governor.models import LedgerEntry, StripeBalanceTransaction
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.revenue.translate import LINKS, BalanceFact, EntryFact, account_fact, fee_fact
from governor.revenue.translate import status_rank as rank
from governor.storage.upsert import upsert

_FILLABLE = ("balance_transaction_id", "charge_id", "description", *LINKS)
_FIELDS = ("amount_minor", "currency", "status", "occurred_at", *_FILLABLE)


def record(
    session: Session, fact: EntryFact, *, watermark: datetime, event_id: str | None = None
) -> LedgerEntry:
    """Insert or merge one fact; the result does not depend on the order facts arrive in.

    A newer fact (later Stripe time, or the same time and a further status) sets the fields
    it knows; an older or `weak` one only fills fields still empty.
    """
    query = select(LedgerEntry).where(
        LedgerEntry.kind == fact.kind, LedgerEntry.source_ref == fact.source_ref
    )
    entry = session.scalar(query.with_for_update())
    values = {name: getattr(fact, name) for name in _FIELDS}
    if entry is None:
        entry = LedgerEntry(
            id=new_id("led"), kind=fact.kind, source="stripe", source_ref=fact.source_ref,
            watermark=watermark, event_id=event_id, created_at=utcnow(), updated_at=utcnow(),
            **values,
        )  # fmt: skip
        session.add(entry)
    elif not fact.weak and _newer(fact, watermark, entry):
        for name, value in values.items():
            if value is not None or name not in _FILLABLE:
                setattr(entry, name, value)
        entry.watermark, entry.event_id, entry.updated_at = watermark, event_id, utcnow()
    else:
        for name in _FILLABLE:
            if getattr(entry, name) is None and values[name] is not None:
                setattr(entry, name, values[name])
    _share_links(session, entry)
    return entry


def _newer(fact: EntryFact, watermark: datetime, entry: LedgerEntry) -> bool:
    if watermark != entry.watermark:
        return watermark > entry.watermark
    return rank(fact.status) >= rank(entry.status)


def _share_links(session: Session, entry: LedgerEntry) -> None:
    """Entries of one charge (refunds, fees, disputes) carry the charge's order links."""
    if entry.charge_id is None:
        return
    if entry.kind == "charge":
        if entry.order_id is not None:
            session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.charge_id == entry.charge_id, LedgerEntry.kind != "charge",
                       LedgerEntry.order_id.is_(None))
                .values({key: getattr(entry, key) for key in LINKS})
            )  # fmt: skip
        return
    if entry.order_id is None:
        query = select(LedgerEntry).where(
            LedgerEntry.kind == "charge", LedgerEntry.source_ref == entry.charge_id
        )
        charge = session.scalar(query)
        if charge is not None and charge.order_id is not None:
            for key in LINKS:
                setattr(entry, key, getattr(charge, key))


def record_all(
    session: Session, facts: Iterable[EntryFact], *, watermark: datetime, event_id: str | None
) -> list[LedgerEntry]:
    """Record several facts of one event or object."""
    return [record(session, fact, watermark=watermark, event_id=event_id) for fact in facts]


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
    upsert(session, table_of(LedgerEntry), [_entry_row(f, now) for f in learned],
           key=("kind", "source_ref"), ignore=True)  # fmt: skip
    entries = table_of(LedgerEntry)
    session.execute(
        entries.update()
        .where(entries.c.kind == bindparam("k"), entries.c.source_ref == bindparam("r"),
               entries.c.balance_transaction_id.is_(None))
        .values(balance_transaction_id=bindparam("t")),
        [{"k": t.ledger_kind, "r": t.match_ref, "t": t.id} for t in txns],
    )  # fmt: skip
    charges = {f.charge_id for f in learned if f.charge_id is not None}
    if charges:
        _copy_links(session, sorted(charges))
    return len(txns)


def _copy_links(session: Session, charge_ids: list[str]) -> None:
    """Give unlinked entries of these charges the charge entry's order links."""
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


def _entry_row(fact: EntryFact, now: datetime) -> dict[str, object]:
    row = {name: getattr(fact, name) for name in ("kind", "source_ref", *_FIELDS)}
    row.update(id=new_id("led"), source="stripe", watermark=fact.occurred_at, event_id=None,
               created_at=now, updated_at=now)  # fmt: skip
    return row
