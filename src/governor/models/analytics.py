"""Hourly and daily rollups of the ledger and of finished tasks, and the log of hours to redo.

Triggers (created by migration 0006) append the UTC hour of every changed ledger entry or
finished task to `rollup_changes`; readers take an hour or a day from a rollup only while no
change for it is pending, and `analytics.refresh` folds pending hours back into the rollups.
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
"""The triggers migrations 0005 and 0006 create; the schema guard checks that they are all there."""

NONE = ""
"""What a rollup key column holds for 'no offer / no model': primary keys cannot be NULL."""


class _LedgerCells:
    """The money of one bucket, by currency, kind, status, offer and idea."""

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    offer_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    idea_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(BigInteger)


class _TaskCells:
    """The finished tasks of one bucket, by kind, type, model, status, offer and idea."""

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


class LedgerDaily(_LedgerCells, Base):
    """The money of one UTC day."""

    __tablename__ = "ledger_daily"

    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, sort_order=-1)


class LedgerHourly(_LedgerCells, Base):
    """The money of one UTC hour."""

    __tablename__ = "ledger_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, sort_order=-1)


class TaskDaily(_TaskCells, Base):
    """The finished tasks of one UTC day."""

    __tablename__ = "task_daily"

    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, sort_order=-1)


class TaskHourly(_TaskCells, Base):
    """The finished tasks of one UTC hour."""

    __tablename__ = "task_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, sort_order=-1)


class RollupChange(Base):
    """An hour of `source` (ledger or tasks) whose rollups are stale; written by triggers."""

    __tablename__ = "rollup_changes"
    __table_args__ = (Index(None, "source", "hour"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    hour: Mapped[datetime] = mapped_column(UTCDateTime)


class RollupVersion(Base):
    """A random token that changes whenever a source's rollups are rebuilt, so that readers can
    cache settled days per token: equal tokens mean equal rollups, even across restores."""

    __tablename__ = "rollup_versions"

    source: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
