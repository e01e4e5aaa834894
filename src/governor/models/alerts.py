"""Alerts: something a person must see, deduplicated by fingerprint."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import JSONDocument, UTCDateTime, utcnow


class Alert(Base):
    """One ongoing incident: seen `count` times between `first_seen` and `last_seen`."""

    __tablename__ = "alerts"
    __table_args__ = (Index(None, "fingerprint", unique=True), Index(None, "status", "last_seen"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[Any | None] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), default="open")
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
