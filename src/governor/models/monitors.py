"""The business metrics Governor watches: each series' detector state, and what they flagged."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import JSONDocument, UTCDateTime, utcnow


class MonitorState(Base):
    """Where one watched series stands: its detector's saved state and the last bucket read."""

    __tablename__ = "monitor_states"

    series: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # anomaly (hourly) or drift (daily)
    detector: Mapped[str] = mapped_column(String(64))
    state: Mapped[Any] = mapped_column(JSONDocument)
    last_bucket: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Finding(Base):
    """A point a detector flagged (an anomaly) or where a drift began, with what was expected.

    `value` and the expected range are observations of a metric in its own unit (minor units
    of money, milliseconds, a rate), kept as floats: they are measurements, not money held."""

    __tablename__ = "monitor_findings"
    __table_args__ = (Index(None, "series", "kind", "at", unique=True), Index(None, "at"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    series: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    expected_low: Mapped[float | None] = mapped_column(Float)
    expected_high: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    alert_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
