"""Tables of revenue: the Stripe webhook inbox, the ledger, Stripe's balance and reconciliations."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import JSONDocument, UTCDateTime, utcnow

STRIPE_ID = 255  # Stripe documents its ids as strings of at most 255 characters


class StripeEvent(Base):
    """One Stripe event, stored once whichever way it came (webhook or sync), handled once."""

    __tablename__ = "stripe_events"
    __table_args__ = (Index(None, "handled_at", "created"), Index(None, "object_id"))

    id: Mapped[str] = mapped_column(String(STRIPE_ID), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    object_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    payload: Mapped[Any] = mapped_column(JSONDocument)
    origin: Mapped[str] = mapped_column(String(16), default="webhook")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class LedgerEntry(Base):
    """One movement of money, signed, in integer minor units of its currency."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index(None, "kind", "source_ref", unique=True),
        Index(None, "occurred_at"),
        Index(None, "balance_transaction_id"),
        Index(None, "charge_id"),
        Index(None, "order_id"),
        Index(None, "payment_intent_id"),
        Index(None, "kind", "occurred_at"),
        Index(None, "offer_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default="stripe")
    source_ref: Mapped[str] = mapped_column(String(STRIPE_ID))
    balance_transaction_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    charge_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    payment_intent_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))  # a charge's pi_…
    order_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    offer_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    idea_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    task_id: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    watermark: Mapped[datetime] = mapped_column(UTCDateTime)
    event_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeBalanceTransaction(Base):
    """Stripe's own record of a balance change, from its API or its itemized report."""

    __tablename__ = "stripe_balance_transactions"
    __table_args__ = (
        Index(None, "created"),
        Index(None, "ledger_kind", "match_ref"),
        Index(None, "payout_id"),
    )

    id: Mapped[str] = mapped_column(String(STRIPE_ID), primary_key=True)
    type: Mapped[str | None] = mapped_column(String(64))
    reporting_category: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    ledger_kind: Mapped[str] = mapped_column(String(32))
    match_ref: Mapped[str] = mapped_column(String(STRIPE_ID))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str | None] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    available_on: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payout_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    description: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReconciliationRun(Base):
    """One comparison of the ledger with Stripe over a window, and how it ended."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (Index(None, "started_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    origin: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    counts: Mapped[Any | None] = mapped_column(JSONDocument)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    task_id: Mapped[str | None] = mapped_column(String(40))


class Discrepancy(Base):
    """One difference a reconciliation found: its kind, the Stripe id, expected and actual."""

    __tablename__ = "discrepancies"
    __table_args__ = (Index(None, "kind", "stripe_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("reconciliation_runs.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    stripe_id: Mapped[str] = mapped_column(String(STRIPE_ID))
    expected: Mapped[Any | None] = mapped_column(JSONDocument)
    actual: Mapped[Any | None] = mapped_column(JSONDocument)
    currency: Mapped[str | None] = mapped_column(String(3))
    evidence: Mapped[Any | None] = mapped_column(JSONDocument)


class StripeSyncCheckpoint(Base):
    """How far `stripe sync` got through one list: its window and the last id it stored."""

    __tablename__ = "stripe_sync_checkpoints"

    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    cursor: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
