"""Hourly and daily rollups: read cells exactly (rollups where settled, raw rows for the rest).

A *cell* is one bucket and one combination of a source's key columns with its sums. Whole UTC
days that no pending change touches come from the daily rollup; whole hours of the other days
(a period's partial days at its edges, days with pending changes) from the hourly rollup; and
only partial hours and hours with pending changes (the triggers of migration 0006 log them in
`rollup_changes`) from the raw rows. All reads run in one snapshot, so a refresh that commits
in between can neither double nor drop an hour.
"""

import secrets
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from governor.models import (
    ExecutionTask,
    LedgerDaily,
    LedgerEntry,
    LedgerHourly,
    RollupChange,
    RollupVersion,
    TaskDaily,
    TaskHourly,
)
from governor.models.analytics import NONE, ROLLUP_TRIGGERS
from governor.models.base import table_of
from governor.models.types import UTCDateTime

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
STEP = {"day": DAY, "hour": HOUR}
TICK = timedelta(microseconds=1)
CHANGES = table_of(RollupChange)
VERSIONS = table_of(RollupVersion)


@dataclass(frozen=True)
class Source:
    """A raw table, its time column, the rollup that sums it, and how."""

    name: str
    raw: sa.Table
    time: str
    daily: sa.Table
    hourly: sa.Table
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
    name="ledger", raw=_LEDGER, time="occurred_at", daily=table_of(LedgerDaily),
    hourly=table_of(LedgerHourly),
    keys=("currency", "kind", "status", "offer_id", "idea_id"),
    sums={"amount_minor": sa.func.sum(_LEDGER.c.amount_minor), "entries": sa.func.count()},
)  # fmt: skip
TASKS = Source(
    name="tasks", raw=_TASKS, time="finished_at", daily=table_of(TaskDaily),
    hourly=table_of(TaskHourly),
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


def floor(moment: datetime, grain: str) -> datetime:
    """The start of the UTC hour or day of `moment`."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    return hour.replace(hour=0) if grain == "day" else hour


def _ceil(moment: datetime, grain: str) -> datetime:
    start = floor(moment, grain)
    return start if start == moment else start + STEP[grain]


Range = tuple[datetime, datetime]


@dataclass
class Plan:
    """Where each part of a period is read from: whole clean days from the daily rollup, whole
    clean hours from the hourly one, and the rest (partial or stale hours) from raw rows."""

    day: list[Range] = field(default_factory=list)
    hour: list[Range] = field(default_factory=list)
    raw: list[Range] = field(default_factory=list)

    @classmethod
    def of(
        cls, start: datetime, end: datetime, stale: list[datetime], grains: Sequence[str]
    ) -> "Plan":
        """`stale`: the sorted hours with pending changes; `grains`: the rollups to use,
        coarsest first."""
        plan = cls()
        plan._place(start, end, stale, tuple(grains))
        for ranges in (plan.day, plan.hour, plan.raw):
            ranges[:] = _joined(ranges)
        return plan

    def _place(
        self, lo: datetime, hi: datetime, stale: list[datetime], grains: tuple[str, ...]
    ) -> None:
        if not grains:
            self.raw.append((lo, hi))
            return
        grain, finer = grains[0], grains[1:]
        first, last = _ceil(lo, grain), floor(hi, grain)
        if first >= last:
            self._place(lo, hi, stale, finer)
            return
        if lo < first:
            self._place(lo, first, stale, finer)
        cursor = first
        for bucket in sorted({floor(h, grain) for h in _within(stale, first, last)}):
            if cursor < bucket:
                getattr(self, grain).append((cursor, bucket))
            self._place(bucket, bucket + STEP[grain], stale, finer)
            cursor = bucket + STEP[grain]
        if cursor < last:
            getattr(self, grain).append((cursor, last))
        if last < hi:
            self._place(last, hi, stale, finer)


def _within(stale: list[datetime], lo: datetime, hi: datetime) -> list[datetime]:
    return stale[bisect_left(stale, lo) : bisect_left(stale, hi)]


def _joined(ranges: list[Range]) -> list[Range]:
    joined: list[Range] = []
    for lo, hi in sorted(ranges):
        if joined and joined[-1][1] == lo:
            joined[-1] = (joined[-1][0], hi)
        else:
            joined.append((lo, hi))
    return joined


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
    stale = _stale_hours(session, source, start, end)
    plan = Plan.of(start, end, stale, ("hour",) if grain == "hour" else ("day", "hour"))
    rows = _rolled(session, group, "day", plan.day) + _rolled(session, group, "hour", plan.hour)
    return group.merge(rows + _raw(session, group, plan.raw))


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
        """One dict per group, summing the rows of a group that came from several tiers."""
        width = len(self.names)
        merged: dict[tuple[Any, ...], list[int]] = {}
        for row in rows:
            key, values = row[:width], [int(value or 0) for value in row[width:]]
            sums = merged.get(key)
            if sums is None:
                merged[key] = values
            else:
                sums[:] = map(sum, zip(sums, values, strict=True))
        fields = (*self.names, *self.source.sums)
        return [dict(zip(fields, (*key, *sums), strict=True)) for key, sums in merged.items()]


def _stale_hours(
    session: Session, source: Source, start: datetime, end: datetime
) -> list[datetime]:
    query = (
        sa.select(CHANGES.c.hour)
        .distinct()
        .where(CHANGES.c.source == source.name, CHANGES.c.hour >= floor(start, "hour"),
               CHANGES.c.hour < end)
    )  # fmt: skip
    return sorted(session.execute(query).scalars())


def _rolled(
    session: Session, group: Group, tier: str, ranges: list[Range]
) -> list[tuple[Any, ...]]:
    """Rows of the `tier` rollup (day or hour) in `ranges`, bucketed to the group's grain."""
    rows = SETTLED.rows(session, group, tier, ranges)
    if group.grain is None:
        return [row[1:] for row in rows]
    if group.grain != tier:
        return [(floor(row[0], group.grain), *row[1:]) for row in rows]
    return rows


class Settled:
    """Rollup rows per bucket and grouping, cached in memory under the source's version token
    (`rollup_versions`) read in the same snapshot: while the token is the same, so are the
    rollups. A refresh draws a new token, so nothing cached before it is used after it. Only
    settled buckets (no pending change) are ever asked for."""

    LIMIT = 100_000

    def __init__(self) -> None:
        self._buckets: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}

    def rows(
        self, session: Session, group: Group, tier: str, ranges: list[Range]
    ) -> list[tuple[Any, ...]]:
        """(bucket, keys…, sums…) rows of every whole `tier` bucket in `ranges`."""
        source = group.source
        version = session.scalar(
            sa.select(VERSIONS.c.version).where(VERSIONS.c.source == source.name)
        )
        tag = (str(session.get_bind().engine.url), source.name, version, tier, group.keys)
        step = STEP[tier]
        buckets = [lo + i * step for lo, hi in ranges for i in range((hi - lo) // step)]
        missing = [bucket for bucket in buckets if (*tag, bucket) not in self._buckets]
        fetched = self._fetch(session, group, tier, missing) if missing else {}
        if missing and version is not None:
            if len(self._buckets) > self.LIMIT:
                self._buckets.clear()
            self._buckets.update({(*tag, b): fetched.get(b, []) for b in missing})
        cached = self._buckets
        return [row for bucket in buckets
                for row in fetched.get(bucket) or cached.get((*tag, bucket)) or []]  # fmt: skip

    @staticmethod
    def _fetch(
        session: Session, group: Group, tier: str, buckets: list[datetime]
    ) -> dict[datetime, list[tuple[Any, ...]]]:
        table = group.source.daily if tier == "day" else group.source.hourly
        column = table.c[tier]
        by = [column, *(table.c[k] for k in group.keys)]
        sums = [sa.func.sum(table.c[name]) for name in group.source.sums]
        found: dict[datetime, list[tuple[Any, ...]]] = {}
        for lo, hi in _joined([(bucket, bucket + STEP[tier]) for bucket in buckets]):
            query = sa.select(*by, *sums).where(column >= lo, column < hi).group_by(*by)
            for row in session.execute(query):
                found.setdefault(row[0], []).append(tuple(row))
        return found


SETTLED = Settled()


def _raw(session: Session, group: Group, ranges: Sequence[Range]) -> list[tuple[Any, ...]]:
    """Sums of raw rows, bucketed by the database only when a range spans several buckets."""
    source = group.source
    time = source.raw.c[source.time]
    columns = {c.name: c for c in source.key_columns()}
    by = [columns[k] for k in group.keys]
    dialect = session.get_bind().dialect.name
    rows: list[tuple[Any, ...]] = []
    for lo, hi in ranges:
        one_bucket = group.grain is None or floor(lo, group.grain) == floor(hi - TICK, group.grain)
        bucket = [] if one_bucket else [truncate(time, group.grain or "day", dialect)]
        query = sa.select(*bucket, *by, *source.sums.values()).where(time >= lo, time < hi)
        if source.only is not None:
            query = query.where(source.only)
        known = (lo,) if group.grain and one_bucket else ()
        rows += [(*known, *row) for row in session.execute(query.group_by(*bucket, *by))]
    return rows


def refresh(session: Session) -> dict[str, int]:
    """Recompute every hour with pending changes from the raw rows, and the days that hold
    them from the hourly rollup; clear those changes. Returns the hours folded per source.

    In one transaction and one snapshot: a change committed meanwhile stays pending (its row is
    invisible to the delete below), so it is folded by the next refresh.
    """
    _snapshot(session)
    seen = session.execute(
        sa.select(CHANGES.c.source, CHANGES.c.hour, sa.func.max(CHANGES.c.id))
        .group_by(CHANGES.c.source, CHANGES.c.hour)
    ).all()  # fmt: skip
    if not seen:
        return {}
    dialect = session.get_bind().dialect.name
    done: dict[str, int] = {}
    for source in SOURCES:
        hours = sorted({hour for name, hour, _ in seen if name == source.name})
        for lo, hi in _joined([(hour, hour + HOUR) for hour in hours]):
            _rebuild(session, source, "hour", lo, hi, dialect)
        days = {floor(hour, "day") for hour in hours}
        for lo, hi in _joined([(day, day + DAY) for day in days]):
            _rebuild(session, source, "day", lo, hi, dialect)
        if hours:
            done[source.name] = len(hours)
            session.execute(sa.update(VERSIONS).where(VERSIONS.c.source == source.name)
                            .values(version=secrets.randbits(62)))  # fmt: skip
    top = max(last for _, _, last in seen)
    session.execute(sa.delete(CHANGES).where(CHANGES.c.id <= top))
    return done


def _rebuild(
    session: Session, source: Source, grain: str, lo: datetime, hi: datetime, dialect: str
) -> None:
    """Rebuild the `grain` rollup's buckets in [lo, hi): hours from the raw rows, days from
    the hourly rollup."""
    table = source.daily if grain == "day" else source.hourly
    session.execute(sa.delete(table).where(table.c[grain] >= lo, table.c[grain] < hi))
    if grain == "hour":
        origin, time, only = source.raw, source.raw.c[source.time], source.only
        keys: list[ColumnElement[Any]] = source.key_columns()
        sums = [agg.label(name) for name, agg in source.sums.items()]
    else:
        origin, time, only = source.hourly, source.hourly.c.hour, None
        keys = [source.hourly.c[k] for k in source.keys]
        sums = [sa.func.sum(source.hourly.c[name]).label(name) for name in source.sums]
    bucket = truncate(time, grain, dialect).label(grain)
    select = sa.select(bucket, *keys, *sums).select_from(origin)
    select = select.where(time >= lo, time < hi).group_by(bucket, *keys)
    if only is not None:
        select = select.where(only)
    columns = [grain, *source.keys, *source.sums]
    session.execute(sa.insert(table).from_select(columns, select))


@contextmanager
def triggers_suspended(connection: Connection) -> Iterator[None]:
    """The rollup triggers dropped (SQLite) or disabled (PostgreSQL) inside the connection's
    open transaction, and back when the block ends; both are transactional, so a failure
    rolls the triggers back with the rows. Whoever writes in between logs what it changed
    with `mark_hours`. For bulk loads, which then skip a trigger call per row."""
    if connection.dialect.name == "postgresql":
        tables = {source.raw.name for source in SOURCES}
        for table in tables:
            connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield
        for table in tables:
            connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return
    names = ROLLUP_TRIGGERS["sqlite"]
    found = connection.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names")
        .bindparams(sa.bindparam("names", expanding=True)), {"names": list(names)},
    ).all()  # fmt: skip
    for name, _ in found:
        connection.exec_driver_sql(f"DROP TRIGGER {name}")
    yield
    for _, sql in found:
        connection.exec_driver_sql(sql)


def mark_hours(connection: Connection, source: Source, times: Iterable[datetime]) -> None:
    """Log the hours of `times` as changed in `source`, as the triggers would have."""
    hours = sorted({floor(moment, "hour") for moment in times})
    if hours:
        connection.execute(sa.insert(CHANGES), [{"source": source.name, "hour": h} for h in hours])
