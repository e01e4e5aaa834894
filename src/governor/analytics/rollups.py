"""Daily rollups: read cells exactly (rollup for settled days, raw rows for the rest) and refresh.

A *cell* is one bucket and one combination of a source's key columns with its sums. Whole UTC
days that no pending change touches come from the rollup table; partial days at a period's
edges, days with pending changes (the triggers of migration 0005 log them in
`rollup_changes`), and hourly buckets are aggregated from the raw rows. Both reads run in one
snapshot, so a refresh that commits in between can neither double nor drop a day.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from governor.models import ExecutionTask, LedgerDaily, LedgerEntry, RollupChange, TaskDaily
from governor.models.analytics import NONE
from governor.models.base import table_of
from governor.models.types import UTCDateTime

DAY = timedelta(days=1)
CHANGES = table_of(RollupChange)


@dataclass(frozen=True)
class Source:
    """A raw table, its time column, the rollup that sums it, and how."""

    name: str
    raw: sa.Table
    time: str
    rollup: sa.Table
    keys: tuple[str, ...]
    sums: dict[str, Any]  # rollup column -> aggregate over raw rows
    only: ColumnElement[bool] | None = None  # which raw rows count

    def key_columns(self) -> list[ColumnElement[Any]]:
        """The raw key columns, NULL read as the rollup's empty string."""
        columns = self.raw.c
        return [sa.func.coalesce(columns[k], NONE).label(k) if columns[k].nullable else
                columns[k].label(k) for k in self.keys]  # fmt: skip


_LEDGER = table_of(LedgerEntry)
_TASKS = table_of(ExecutionTask)
LEDGER = Source(
    name="ledger", raw=_LEDGER, time="occurred_at", rollup=table_of(LedgerDaily),
    keys=("currency", "kind", "status", "offer_id", "idea_id"),
    sums={"amount_minor": sa.func.sum(_LEDGER.c.amount_minor), "entries": sa.func.count()},
)  # fmt: skip
TASKS = Source(
    name="tasks", raw=_TASKS, time="finished_at", rollup=table_of(TaskDaily),
    keys=("kind", "type", "ai_model", "status", "offer_id", "idea_id"),
    sums={"tasks": sa.func.count(),
          "duration_ms": sa.func.sum(sa.func.coalesce(_TASKS.c.duration_ms, 0)),
          "cost_micros": sa.func.sum(sa.func.coalesce(_TASKS.c.cost_micros, 0)),
          "tokens_in": sa.func.sum(_TASKS.c.tokens_in),
          "tokens_out": sa.func.sum(_TASKS.c.tokens_out)},
    only=_TASKS.c.finished_at.is_not(None),
)  # fmt: skip
SOURCES = (LEDGER, TASKS)


def truncate(column: ColumnElement[Any], grain: str, dialect: str) -> ColumnElement[datetime]:
    """The start of the UTC hour or day of a timestamp column, in the database."""
    if dialect == "postgresql":
        expression = sa.func.date_trunc(grain, column, "UTC")
    else:  # SQLAlchemy's own text form of datetimes on SQLite, so it compares with stored ones
        pattern = "%Y-%m-%d %H:00:00.000000" if grain == "hour" else "%Y-%m-%d 00:00:00.000000"
        expression = sa.func.strftime(pattern, column)
    return sa.type_coerce(expression, UTCDateTime())


def _snapshot(session: Session) -> None:
    """Make every statement of this transaction see one snapshot (PostgreSQL's default does
    not); call it before the transaction's first statement. SQLite's transactions already do."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def cells(
    session: Session,
    source: Source,
    start: datetime,
    end: datetime,
    *,
    grain: str | None = "day",
    keys: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The sums of [start, end) per bucket (hour, day, or none: one total) and per `keys`
    (default: all of the source's), one dict per group. Exact inside a read-only
    `session_scope`, whose statements share one snapshot."""
    group = Group(source, tuple(keys or source.keys), grain)
    if grain == "hour":
        return group.merge(_raw(session, group, [(start, end)]))
    first = _midnight(start) if start == _midnight(start) else _midnight(start) + DAY
    last = _midnight(end)
    edges = [(start, min(first, end))] if start < first else []
    if last >= first and end > last:
        edges.append((max(last, start), end))
    if last <= first:
        return group.merge(_raw(session, group, edges))
    stale = _stale_days(session, source, first, last)
    rows = _rolled(session, group, first, last, stale)
    ranges = edges + [(day, day + DAY) for day in stale]
    return group.merge(rows + _raw(session, group, ranges))


@dataclass(frozen=True)
class Group:
    """How cells are grouped: by which key columns, and into which time buckets."""

    source: Source
    keys: tuple[str, ...]
    grain: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return (("bucket",) if self.grain else ()) + self.keys

    def merge(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """One dict per group, summing the rows of a group that came from both sides."""
        width = len(self.names)
        merged: dict[tuple[Any, ...], list[int]] = {}
        for row in rows:
            sums = merged.setdefault(tuple(row[:width]), [0] * (len(row) - width))
            for i, value in enumerate(row[width:]):
                sums[i] += int(value or 0)
        fields = (*self.names, *self.source.sums)
        return [dict(zip(fields, (*key, *sums), strict=True)) for key, sums in merged.items()]


def _stale_days(
    session: Session, source: Source, first: datetime, last: datetime
) -> list[datetime]:
    query = (
        sa.select(CHANGES.c.day)
        .distinct()
        .where(CHANGES.c.source == source.name, CHANGES.c.day >= first, CHANGES.c.day < last)
    )
    return sorted(session.execute(query).scalars())


def _rolled(
    session: Session, group: Group, first: datetime, last: datetime, stale: list[datetime]
) -> list[tuple[Any, ...]]:
    table = group.source.rollup
    by = ([table.c.day] if group.grain else []) + [table.c[k] for k in group.keys]
    sums = [sa.func.sum(table.c[name]) for name in group.source.sums]
    query = sa.select(*by, *sums).where(table.c.day >= first, table.c.day < last).group_by(*by)
    if stale:
        query = query.where(table.c.day.not_in(stale))
    return [tuple(row) for row in session.execute(query)]


def _raw(
    session: Session, group: Group, ranges: Sequence[tuple[datetime, datetime]]
) -> list[tuple[Any, ...]]:
    """Sums of raw rows. Daily ranges (each within one UTC day) are summed one by one, their
    bucket known beforehand: no per-row date arithmetic for the database to do."""
    source = group.source
    time = source.raw.c[source.time]
    columns = {c.name: c for c in source.key_columns()}
    by = [columns[k] for k in group.keys]
    if group.grain == "hour":
        by.insert(0, truncate(time, "hour", session.get_bind().dialect.name))
    rows: list[tuple[Any, ...]] = []
    for lo, hi in ranges:
        query = sa.select(*by, *source.sums.values()).where(time >= lo, time < hi)
        if source.only is not None:
            query = query.where(source.only)
        bucket = (_midnight(lo),) if group.grain == "day" else ()
        rows += [(*bucket, *row) for row in session.execute(query.group_by(*by))]
    return rows


def refresh(session: Session) -> dict[str, int]:
    """Recompute every day with pending changes from the raw rows and clear those changes.

    In one transaction and one snapshot: a change committed meanwhile stays pending (its row is
    invisible to the delete below), so it is folded by the next refresh.
    """
    _snapshot(session)
    seen = session.execute(
        sa.select(CHANGES.c.source, CHANGES.c.day, sa.func.max(CHANGES.c.id))
        .group_by(CHANGES.c.source, CHANGES.c.day)
    ).all()  # fmt: skip
    if not seen:
        return {}
    dialect = session.get_bind().dialect.name
    done: dict[str, int] = {}
    for source in SOURCES:
        days = sorted({day for name, day, _ in seen if name == source.name})
        for day in days:
            _rebuild_day(session, source, day, dialect)
        if days:
            done[source.name] = len(days)
    top = max(last for _, _, last in seen)
    session.execute(sa.delete(CHANGES).where(CHANGES.c.id <= top))
    return done


def _rebuild_day(session: Session, source: Source, day: datetime, dialect: str) -> None:
    table, time = source.rollup, source.raw.c[source.time]
    session.execute(sa.delete(table).where(table.c.day == day))
    keys = source.key_columns()
    select = sa.select(
        sa.literal(day, UTCDateTime()).label("day"), *keys,
        *(agg.label(name) for name, agg in source.sums.items()),
    ).where(time >= day, time < day + DAY).group_by(*keys)  # fmt: skip
    if source.only is not None:
        select = select.where(source.only)
    columns = ["day", *source.keys, *source.sums]
    session.execute(sa.insert(table).from_select(columns, select))
