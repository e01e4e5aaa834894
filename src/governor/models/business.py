"""Tables of what the business sells and to whom: ideas, offers and their history, orders."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.revenue import STRIPE_ID
from governor.models.types import JSONDocument, UTCDateTime, utcnow


class Idea(Base):
    """Something the agents thought worth building; offers sell what came of it."""

    __tablename__ = "ideas"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Offer(Base):
    """A thing for sale at a price in one currency, made from an idea."""

    __tablename__ = "offers"
    __table_args__ = (Index(None, "idea_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idea_id: Mapped[str | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stripe's ids of what sells the offer there; recorded, never created by Governor.
    stripe_product_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    stripe_price_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    stripe_payment_link_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    created_by_task_id: Mapped[str | None] = mapped_column(String(40))  # the task that made it
    # How a paid order is fulfilled: the handler's name, its settings, and the time allowed.
    fulfilment_type: Mapped[str | None] = mapped_column(String(40))
    fulfilment_config: Mapped[Any | None] = mapped_column(JSONDocument)
    fulfilment_sla_minutes: Mapped[int | None] = mapped_column(Integer)


class OfferStatusChange(Base):
    """One move of an offer's status (its creation included): when, by whom, and why."""

    __tablename__ = "offer_status_changes"
    __table_args__ = (Index(None, "offer_id", "at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # osc_<…>
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))  # None: the offer was created
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # task:<id>, user:<name> or cli
    task_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)


class Customer(Base):
    """Someone who bought (or tried to buy) an offer."""

    __tablename__ = "customers"
    __table_args__ = (Index(None, "email"), Index(None, "stripe_customer_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    address: Mapped[Any | None] = mapped_column(JSONDocument)  # postal: line1, city, postal_code…
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(Base):
    """One purchase of an offer: its Stripe charge, its state, and when it was fulfilled."""

    __tablename__ = "orders"
    __table_args__ = (
        Index(None, "offer_id", "created_at"),
        Index(None, "created_at"),
        Index(None, "stripe_charge_id"),
        Index(None, "checkout_session_id"),
        Index(None, "status", "paid_at"),  # the fulfilment queue: paid orders, oldest first
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    stripe_charge_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    checkout_session_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
