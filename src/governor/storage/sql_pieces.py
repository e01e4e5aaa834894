"""SQL pieces that differ between SQLite and PostgreSQL: durations, UTC days, counts of a
condition, and nearest-rank percentiles computed in the database."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import ColumnElement, Select

Column = ColumnElement[Any] | QueryableAttribute[Any]
"""A column or an expression of one."""

PERCENTILES = (50, 95, 99)
"""The percentiles of time to pay and time to fulfil."""


def seconds_between(start: Column, end: Column, dialect: str) -> ColumnElement[float]:
    """Seconds from `start` to `end` (both timestamp columns), in the database."""
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", end - start), sa.Float)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86_400.0


def utc_day(column: Column, dialect: str) -> ColumnElement[str]:
    """The UTC day of a timestamp column as text, "2026-12-03"."""
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.substr(column, 1, 10)  # SQLite keeps UTC times as "2026-12-03 10:00:00…"


def tally(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of the group meet `condition` (an integer on both databases)."""
    return sa.cast(
        sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0), sa.BigInteger
    )


def total(value: Column, condition: ColumnElement[bool]) -> ColumnElement[int]:
    """The sum of `value` over the rows of the group that meet `condition` (an integer)."""
    summed = sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)
    return sa.cast(summed, sa.BigInteger)


def percentiles(
    session: Session,
    key: Column,
    value: Column,
    query: Select[Any],
    wanted: Sequence[int] = PERCENTILES,
) -> dict[Any, dict[int, float]]:
    """Nearest-rank percentiles of `value` per `key` over the rows `query` selects (a select
    with the FROM and WHERE of the rows, its columns replaced): the database ranks the rows,
    and only the rows at the wanted ranks come back."""
    values = (
        query.with_only_columns(key.label("k"), value.label("v"))
        .where(value.is_not(None))
        .subquery()
    )  # computed once per row, then ranked
    ranked = sa.select(
        values.c.k,
        values.c.v,
        sa.func.row_number().over(partition_by=values.c.k, order_by=values.c.v).label("rn"),
        sa.func.count().over(partition_by=values.c.k).label("n"),
    ).subquery()
    ranks = {p: (ranked.c.n * p + 99) // 100 for p in wanted}  # ceil(n · p / 100), in integers
    rows = session.execute(
        sa.select(ranked.c.k, ranked.c.v, ranked.c.rn, ranked.c.n).where(
            sa.or_(*(ranked.c.rn == rank for rank in ranks.values()))
        )
    ).all()
    found: dict[Any, dict[int, float]] = {}
    for k, v, rn, n in rows:
        for p in wanted:
            if rn == (n * p + 99) // 100:
                found.setdefault(k, {})[p] = float(v)
    return found
