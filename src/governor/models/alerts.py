"""Alerts: something a person must see, deduplicated by fingerprint, and their deliveries."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
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
    notified_severity: Mapped[int | None] = mapped_column(Integer)  # the last one delivered


class AlertDelivery(Base):
    """One alert sent to one destination (its redacted name): attempts made, and the outcome."""

    __tablename__ = "alert_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(String(200))
    severity: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
