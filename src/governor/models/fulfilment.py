"""Tables of what happens after a payment: fulfilment steps per order, and customer feedback."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import JSONDocument, UTCDateTime, utcnow


class Fulfilment(Base):
    """One step of fulfilling a paid order through a provider, idempotent by its key."""

    __tablename__ = "fulfilments"
    __table_args__ = (
        Index(None, "order_id", "step", unique=True),
        Index(None, "idempotency_key", unique=True),
        Index(None, "status", "created_at"),
        Index(None, "provider", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # ful_…
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200))  # sent as Idempotency-Key
    # pending, running, done, action_required (needs the customer), failed (gave up)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    throttled: Mapped[int] = mapped_column(Integer, default=0)  # 429s the provider answered
    task_id: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(JSONDocument)  # what the provider gave back
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Feedback(Base):
    """What a customer said of a fulfilled order: a rating of 1 to 5 and a text."""

    __tablename__ = "feedback"
    __table_args__ = (
        Index(None, "order_id", unique=True),
        Index(None, "offer_id", "created_at"),
        Index(None, "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # fb_…
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    offer_id: Mapped[str] = mapped_column(String(40))
    idea_id: Mapped[str | None] = mapped_column(String(40))
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # link, api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
