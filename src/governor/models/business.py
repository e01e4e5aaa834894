"""Tables of what the business sells and to whom: ideas, offers, customers and orders."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.revenue import STRIPE_ID
from governor.models.types import UTCDateTime, utcnow


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


class Customer(Base):
    """Someone who bought (or tried to buy) an offer."""

    __tablename__ = "customers"
    __table_args__ = (Index(None, "email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(Base):
    """One purchase of an offer: its Stripe charge, its state, and when it was fulfilled."""

    __tablename__ = "orders"
    __table_args__ = (
        Index(None, "offer_id", "created_at"),
        Index(None, "created_at"),
        Index(None, "stripe_charge_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    stripe_charge_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
