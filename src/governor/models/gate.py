"""The execution gate's history: every closing and opening, who did it and why."""

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import UTCDateTime, utcnow


class GateEvent(Base):
    """One change of the gate: `pause` closes it, `resume` opens it."""

    __tablename__ = "gate_events"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    report_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
