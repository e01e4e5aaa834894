"""The spans of one task shaped for a waterfall: nested by parent, placed by offset and duration."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.models import ExecutionTask, TaskSpan
from governor.tracing.profiles import covered

TASKS = cast(sa.Table, ExecutionTask.__table__)
SPANS = cast(sa.Table, TaskSpan.__table__)

KINDS = ("llm", "http", "db", "internal")
LIMIT = 500
"""The most spans one waterfall draws; a task with more shows the first ones and says so."""
TICKS = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WaterfallSpan:
    """One bar: where it starts and how long it lasts, relative to the task's window."""

    span_id: str
    parent_span_id: str | None
    depth: int
    name: str
    label: str
    kind: str
    started_at: datetime
    offset_us: int
    duration_us: int
    calls: int
    error: bool
    attributes: dict[str, Any]
    left_pct: float
    width_pct: float


@dataclass(frozen=True)
class Waterfall:
    """A task's spans in tree order, the window they are drawn in, and time by kind."""

    task_id: str
    start: datetime | None
    total_us: int
    spans: list[WaterfallSpan]
    hidden: int = 0
    time_by_kind: dict[str, int] = field(default_factory=dict)
    calls_by_kind: dict[str, int] = field(default_factory=dict)
    ticks: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class _Row:
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_us: int
    duration_us: int
    attributes: dict[str, Any]
    started_at: datetime
    children: list["_Row"] = field(default_factory=list)


def waterfall(session: Session, task_id: str, *, limit: int = LIMIT) -> Waterfall:
    """The waterfall of one task's spans (empty when it has none)."""
    task = session.execute(
        sa.select(TASKS.c.started_at, TASKS.c.duration_ms).where(TASKS.c.id == task_id)
    ).first()
    query = (
        sa.select(SPANS.c.span_id, SPANS.c.parent_span_id, SPANS.c.name, SPANS.c.kind,
                  SPANS.c.started_at, SPANS.c.duration_us, SPANS.c.attributes)
        .where(SPANS.c.task_id == task_id)
        .order_by(SPANS.c.started_at, SPANS.c.id)
    )  # fmt: skip
    rows = [
        _Row(r.span_id, r.parent_span_id, r.name, r.kind, _us(r.started_at), int(r.duration_us),
             dict(r.attributes or {}), r.started_at)
        for r in session.execute(query)
    ]  # fmt: skip
    if not rows:
        return Waterfall(task_id, task.started_at if task else None, 0, [])
    start_us = min(r.start_us for r in rows)
    end_us = max(r.start_us + r.duration_us for r in rows)
    if task is not None and task.started_at is not None:
        start_us = min(start_us, _us(task.started_at))
        if task.duration_ms is not None:
            end_us = max(end_us, _us(task.started_at) + int(task.duration_ms) * 1000)
    total = max(end_us - start_us, 1)
    ordered = list(_tree_order(rows))
    shown = [_bar(row, depth, start_us, total) for row, depth in ordered[:limit]]
    return Waterfall(
        task_id=task_id,
        start=_EPOCH + timedelta(microseconds=start_us),
        total_us=total,
        spans=shown,
        hidden=max(0, len(ordered) - limit),
        time_by_kind=_time_by_kind(rows),
        calls_by_kind=_calls_by_kind(rows),
        ticks=[(100 * i / (TICKS - 1), total * i // (TICKS - 1)) for i in range(TICKS)],
    )


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _tree_order(rows: list[_Row]) -> list[tuple[_Row, int]]:
    """Depth-first, children by start time; a span whose parent is missing is a root."""
    by_id = {r.span_id: r for r in rows}
    roots: list[_Row] = []
    for row in rows:
        parent = by_id.get(row.parent_span_id or "")
        if parent is None or parent is row:
            roots.append(row)
        else:
            parent.children.append(row)
    result: list[tuple[_Row, int]] = []
    seen: set[str] = set()
    stack = [(r, 0) for r in reversed(roots)]
    while stack:
        row, depth = stack.pop()
        if row.span_id in seen:  # a cycle in bad data: draw each span once
            continue
        seen.add(row.span_id)
        result.append((row, depth))
        stack.extend((child, depth + 1) for child in reversed(row.children))
    result.extend((r, 0) for r in rows if r.span_id not in seen)
    return result


def _bar(row: _Row, depth: int, start_us: int, total: int) -> WaterfallSpan:
    offset = row.start_us - start_us
    return WaterfallSpan(
        span_id=row.span_id,
        parent_span_id=row.parent_span_id,
        depth=depth,
        name=row.name,
        label=label(row.kind, row.name, row.attributes),
        kind=row.kind if row.kind in KINDS else "internal",
        started_at=row.started_at,
        offset_us=offset,
        duration_us=row.duration_us,
        calls=_calls(row),
        error=row.attributes.get("otel.status_code") == "ERROR",
        attributes=row.attributes,
        left_pct=round(100 * offset / total, 3),
        width_pct=round(100 * row.duration_us / total, 3),
    )


def label(kind: str, name: str, attributes: dict[str, Any]) -> str:
    """A readable name: a query's statement, an HTTP call's method host path, else the name."""
    if kind == "db":
        text = attributes.get("db.statement") or attributes.get("db.query.text")
        if isinstance(text, str) and text.strip():
            statement = " ".join(text.split())
            return statement if len(statement) <= 160 else statement[:159] + "…"
    if kind == "http":
        url = attributes.get("url.full") or attributes.get("http.url")
        method = attributes.get("http.request.method") or attributes.get("http.method")
        if isinstance(url, str):
            parts = urlsplit(url)
            return " ".join(str(p) for p in (method, parts.hostname, parts.path or "/") if p)
    if kind == "llm":
        model = attributes.get("gen_ai.request.model")
        if isinstance(model, str) and model not in name:
            return f"{name} · {model}"
    return name


def _calls_by_kind(rows: list[_Row]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.kind] += _calls(r)
    return dict(counts)


def _calls(row: _Row) -> int:
    value = row.attributes.get("db.calls", 1)
    return value if isinstance(value, int) and value > 0 else 1


def _time_by_kind(rows: list[_Row]) -> dict[str, int]:
    """Time covered by each kind's spans, each instant once (concurrent calls overlap)."""
    intervals: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in rows:
        if r.kind in ("llm", "http", "db"):
            intervals[r.kind].append((r.start_us, r.start_us + r.duration_us))
    return {kind: covered(found) for kind, found in intervals.items()}
