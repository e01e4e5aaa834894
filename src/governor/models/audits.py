"""FSAR reports: each audit's verdict on the system, or one imported from a file."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import JSONDocument, UTCDateTime


class FsarRecord(Base):
    """One FSAR report: its fields as in the Markdown form, plus the checks' findings."""

    __tablename__ = "fsar_reports"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    severity: Mapped[int] = mapped_column(Integer)
    block_execution: Mapped[bool] = mapped_column(Boolean)
    passed: Mapped[bool] = mapped_column(Boolean)
    origin: Mapped[str] = mapped_column(String(16))  # audit or import
    proposal: Mapped[str] = mapped_column(Text)
    risks: Mapped[Any] = mapped_column(JSONDocument)
    mitigations: Mapped[Any] = mapped_column(JSONDocument)
    findings: Mapped[Any] = mapped_column(JSONDocument)
