"""Tables of the path from an offer to a payment: Stripe's checkout sessions, funnel events."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.revenue import STRIPE_ID
from governor.models.types import UTCDateTime


class CheckoutSession(Base):
    """One Stripe Checkout Session as its events left it: opened, completed or expired."""

    __tablename__ = "checkout_sessions"
    __table_args__ = (
        Index(None, "offer_id", "created_at"),
        Index(None, "created_at"),
        Index(None, "payment_intent_id"),
        Index(None, "recovered_from"),
    )

    id: Mapped[str] = mapped_column(String(STRIPE_ID), primary_key=True)  # cs_…
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))  # open, complete, expired
    payment_status: Mapped[str | None] = mapped_column(String(24))  # paid, unpaid, no_payment_…
    payment_intent_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    charge_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    customer_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))  # Stripe's cus_…
    amount_total_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # Stripe's `created`
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    async_payment: Mapped[str | None] = mapped_column(String(16))  # succeeded, failed
    async_payment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovered_from: Mapped[str | None] = mapped_column(String(STRIPE_ID))  # an expired cs_…
    order_id: Mapped[str | None] = mapped_column(String(40))  # the order it made
    event_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the newest event applied


class FunnelEvent(Base):
    """A step Stripe does not report, recorded by Governor: an offer viewed, a checkout started."""

    __tablename__ = "funnel_events"
    __table_args__ = (
        Index(None, "offer_id", "step", "at"),
        Index(None, "at"),
        Index(None, "dedupe_key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # fev_…
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(24))  # offer_viewed, checkout_started
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    checkout_session_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    visitor: Mapped[str | None] = mapped_column(String(64))  # an anonymous id, never an e-mail
    dedupe_key: Mapped[str | None] = mapped_column(String(200))  # a repeated track is one event
