"""Tables of the task engine: one row per run of a task, and the edges of the task graph."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import JSONDocument, UTCDateTime, utcnow


class ExecutionTask(Base):
    """One run of one task: what it was asked, what it did, what it cost."""

    __tablename__ = "execution_tasks"
    __table_args__ = (
        Index(None, "status", "created_at"),
        Index(None, "type", "created_at"),
        Index(None, "status", "waiting_on", "created_at"),
        Index(None, "status", "lease_expires_at"),
        Index(None, "idempotency_key", unique=True),
        Index(None, "finished_at"),
        Index(None, "type", "ai_model", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="agent")
    type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    ai_model: Mapped[str | None] = mapped_column(String(100))
    input: Mapped[Any | None] = mapped_column(JSONDocument)
    output: Mapped[Any | None] = mapped_column(JSONDocument)
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_on: Mapped[int] = mapped_column(Integer, default=0)
    dependents: Mapped[int] = mapped_column(Integer, default=0)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_cached: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_micros: Mapped[int | None] = mapped_column(BigInteger)
    price_version: Mapped[str | None] = mapped_column(String(40))
    idea_id: Mapped[str | None] = mapped_column(String(40))
    offer_id: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(40))


class TaskDependency(Base):
    """An edge of the task graph: `task_id` runs only after `depends_on_id` succeeded."""

    __tablename__ = "task_dependencies"
    __table_args__ = (Index(None, "depends_on_id"),)

    task_id: Mapped[str] = mapped_column(
        ForeignKey("execution_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[str] = mapped_column(
        ForeignKey("execution_tasks.id", ondelete="CASCADE"), primary_key=True
    )


class TaskSpan(Base):
    """One timed step inside a task: a query, an HTTP call, a model call, or the handler's own."""

    __tablename__ = "task_spans"
    __table_args__ = (Index(None, "task_id"), Index(None, "started_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("execution_tasks.id", ondelete="CASCADE"))
    trace_id: Mapped[str] = mapped_column(String(32))
    span_id: Mapped[str] = mapped_column(String(16))
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_us: Mapped[int] = mapped_column(BigInteger)
    attributes: Mapped[Any | None] = mapped_column(JSONDocument)
