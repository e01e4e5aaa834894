"""Daily rollups of the ledger and of finished tasks, and the log of days they must redo.

Triggers (created by migration 0005) append the UTC day of every changed ledger entry or
finished task to `rollup_changes`; readers take a day from the rollup only while no change
for it is pending, and `analytics.refresh` folds pending days back into the rollups.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from governor.models.base import Base
from governor.models.types import UTCDateTime

ROLLUP_TRIGGERS = {
    "sqlite": tuple(f"trg_{table}_rollup_{event}" for table in ("ledger_entries", "execution_tasks")
                    for event in ("insert", "update", "delete")),
    "postgresql": tuple(f"trg_{table}_rollup_{event}" for table in ("ledger_entries",
                        "execution_tasks") for event in ("change", "update")),
}  # fmt: skip
"""The triggers migration 0005 creates; the schema guard checks that they are all there."""

NONE = ""
"""What a rollup key column holds for 'no offer / no model': primary keys cannot be NULL."""


class LedgerDaily(Base):
    """The money of one UTC day, by currency, kind, status, offer and idea."""

    __tablename__ = "ledger_daily"

    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    offer_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    idea_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(BigInteger)


class TaskDaily(Base):
    """The finished tasks of one UTC day, by kind, type, model, status, offer and idea."""

    __tablename__ = "task_daily"

    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), primary_key=True)
    ai_model: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    offer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idea_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tasks: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    cost_micros: Mapped[int] = mapped_column(BigInteger)
    tokens_in: Mapped[int] = mapped_column(BigInteger)
    tokens_out: Mapped[int] = mapped_column(BigInteger)


class RollupChange(Base):
    """A day of `source` (ledger or tasks) whose rollup is stale; written by triggers."""

    __tablename__ = "rollup_changes"
    __table_args__ = (Index(None, "source", "day"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    day: Mapped[datetime] = mapped_column(UTCDateTime)
