"""Where each task type's time goes: durations, db/http/llm/own shares, slow spans, N+1 queries."""

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.models import ExecutionTask, TaskSpan

TASKS = cast(sa.Table, ExecutionTask.__table__)
SPANS = cast(sa.Table, TaskSpan.__table__)

KINDS = ("db", "http", "llm")
"""The kinds of time spent outside the handler's own code."""
REPEAT_THRESHOLD = 10
"""A statement run this many times within one task is reported as a repeated query (N+1)."""
TOP_SPANS = 5
_TRANSACTION = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SpanStat:
    """The spans of one name (a query, a URL, a step) within a task type."""

    kind: str
    name: str
    count: int
    total_ms: float
    share: float


@dataclass(frozen=True)
class RepeatedQuery:
    """A statement run at least REPEAT_THRESHOLD times within one task: an N+1 pattern."""

    statement: str
    tasks: int
    per_task: int
    total_ms: float
    share: float


@dataclass(frozen=True)
class TypeProfile:
    """How the finished tasks of one type spent their time."""

    task_type: str
    count: int
    traced: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    total_ms: float
    shares: dict[str, float] = field(default_factory=dict)
    slowest: list[SpanStat] = field(default_factory=list)
    repeated_queries: list[RepeatedQuery] = field(default_factory=list)
    relative_to_others: float | None = None
    bottleneck: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class _Span:
    task_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_us: int
    duration_us: int
    attributes: dict[str, Any]

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us


def profile(
    session: Session, *, task_type: str | None = None, since: datetime | None = None
) -> list[TypeProfile]:
    """One profile per task type (or the one asked for), the costliest first."""
    finished = sa.and_(TASKS.c.finished_at.is_not(None), TASKS.c.duration_ms.is_not(None))
    if since is not None:
        finished = sa.and_(finished, TASKS.c.finished_at >= since)
    durations: dict[str, dict[str, int]] = defaultdict(dict)
    query = sa.select(TASKS.c.type, TASKS.c.id, TASKS.c.duration_ms).where(finished)
    for type_, task_id, duration_ms in session.execute(query):
        durations[type_][task_id] = int(duration_ms)
    means = {type_: statistics.fmean(tasks.values()) for type_, tasks in durations.items()}
    wanted = [task_type] if task_type is not None else list(durations)
    spans = _load_spans(session, finished, task_type)
    profiles = [
        _profile_type(type_, durations[type_], spans, means)
        for type_ in wanted
        if durations.get(type_)
    ]
    return sorted(profiles, key=lambda p: p.total_ms, reverse=True)


def _load_spans(
    session: Session, finished: sa.ColumnElement[bool], task_type: str | None
) -> dict[str, list[_Span]]:
    """The spans of the finished tasks, by task id."""
    where = finished if task_type is None else sa.and_(finished, TASKS.c.type == task_type)
    query = (
        sa.select(
            SPANS.c.task_id,
            SPANS.c.span_id,
            SPANS.c.parent_span_id,
            SPANS.c.name,
            SPANS.c.kind,
            SPANS.c.started_at,
            SPANS.c.duration_us,
            SPANS.c.attributes,
        )
        .join(TASKS, TASKS.c.id == SPANS.c.task_id)
        .where(where)
    )
    by_task: dict[str, list[_Span]] = defaultdict(list)
    for row in session.execute(query):
        started = (row.started_at - _EPOCH) // timedelta(microseconds=1)
        by_task[row.task_id].append(
            _Span(row.task_id, row.span_id, row.parent_span_id, row.name, row.kind, started,
                  int(row.duration_us), row.attributes or {})
        )  # fmt: skip
    return by_task


def _profile_type(
    task_type: str,
    durations: dict[str, int],
    spans: dict[str, list[_Span]],
    means: dict[str, float],
) -> TypeProfile:
    values = sorted(durations.values())
    kind_us: Counter[str] = Counter()
    wall_us = 0
    traced = 0
    all_spans: list[_Span] = []
    top_level: list[_Span] = []
    repeats: dict[str, list[tuple[int, int]]] = defaultdict(list)  # statement -> (count, us)
    for task_id, duration_ms in durations.items():
        task_spans = spans.get(task_id)
        if not task_spans:
            continue
        traced += 1
        outside = _top_level_external(task_spans)
        roots = [(s.start_us, s.end_us) for s in task_spans if s.parent_span_id is None]
        wall = max(duration_ms * 1000, covered(roots))
        wall_us += wall
        for kind in KINDS:
            kind_us[kind] += covered((s.start_us, s.end_us) for s in outside if s.kind == kind)
        kind_us["own"] += max(0, wall - covered((s.start_us, s.end_us) for s in outside))
        all_spans.extend(s for s in task_spans if s.parent_span_id is not None)
        top_level.extend(outside)
        for statement, (count, us) in _repeated(task_spans).items():
            repeats[statement].append((count, us))

    def share(us: float) -> float:
        return us / wall_us if wall_us else 0.0

    shares = {kind: share(kind_us[kind]) for kind in (*KINDS, "own")} if traced else {}
    slowest = _grouped(all_spans, share)[:TOP_SPANS]
    repeated = sorted(
        (
            RepeatedQuery(
                statement,
                len(found),
                max(c for c, _ in found),
                sum(us for _, us in found) / 1000,
                share(sum(us for _, us in found)),
            )
            for statement, found in repeats.items()
        ),
        key=lambda r: r.total_ms,
        reverse=True,
    )
    others = [mean for other, mean in means.items() if other != task_type]
    median = statistics.median(others) if others else 0.0
    mean_ms = statistics.fmean(values)
    return TypeProfile(
        task_type=task_type,
        count=len(values),
        traced=traced,
        mean_ms=mean_ms,
        p50_ms=percentile(values, 50),
        p95_ms=percentile(values, 95),
        max_ms=float(values[-1]),
        total_ms=float(sum(values)),
        shares=shares,
        slowest=slowest,
        repeated_queries=repeated,
        relative_to_others=mean_ms / median if median > 0 else None,
        bottleneck=_bottleneck(_grouped(top_level, share), repeated, shares.get("own")),
    )


def percentile(values: list[int] | list[float], p: float) -> float:
    """The p-th percentile of sorted values, interpolating between the closest ranks."""
    if not values:
        return 0.0
    rank = (len(values) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return float(values[low] + (values[high] - values[low]) * (rank - low))


def _top_level_external(spans: list[_Span]) -> list[_Span]:
    """The db/http/llm spans with no db/http/llm span above them (so time is counted once)."""
    by_id = {s.span_id: s for s in spans}
    result = []
    for s in spans:
        if s.kind not in KINDS:
            continue
        parent = by_id.get(s.parent_span_id or "")
        seen = 0
        while parent is not None and parent.kind not in KINDS and seen < len(spans):
            parent = by_id.get(parent.parent_span_id or "")
            seen += 1
        if parent is None or parent.kind not in KINDS:
            result.append(s)
    return result


def covered(intervals: Iterable[tuple[int, int]]) -> int:
    """The time covered by intervals that may overlap (concurrent calls), each instant once."""
    total = 0
    end = None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def _repeated(spans: list[_Span]) -> dict[str, tuple[int, int]]:
    """The statements one task ran at least REPEAT_THRESHOLD times: count and time."""
    counts: Counter[str] = Counter()
    time_us: Counter[str] = Counter()
    for s in spans:
        statement = _statement(s)
        if s.kind == "db" and statement and not _TRANSACTION.match(statement):
            counts[statement] += calls(s)
            time_us[statement] += s.duration_us
    return {st: (n, time_us[st]) for st, n in counts.items() if n >= REPEAT_THRESHOLD}


def _grouped(spans: list[_Span], share: Any) -> list[SpanStat]:
    """Spans grouped by kind and label, the most time first."""
    count: Counter[tuple[str, str]] = Counter()
    time_us: Counter[tuple[str, str]] = Counter()
    for s in spans:
        key = (s.kind, label(s))
        count[key] += calls(s)
        time_us[key] += s.duration_us
    return [
        SpanStat(kind, name, count[(kind, name)], us / 1000, share(us))
        for (kind, name), us in time_us.most_common()
    ]


def label(span: _Span) -> str:
    """A readable name for a span: the statement of a query, method host path of a request."""
    if span.kind == "db":
        statement = _statement(span)
        return _shorten(statement, 120) if statement else span.name
    if span.kind == "http":
        url = span.attributes.get("url.full") or span.attributes.get("http.url")
        method = span.attributes.get("http.request.method") or span.attributes.get("http.method")
        if isinstance(url, str):
            parts = urlsplit(url)
            return " ".join(str(p) for p in (method, parts.hostname, parts.path or "/") if p)
    return span.name


def calls(span: _Span) -> int:
    """How many calls a span stands for: a run of one repeated query is one span (tracing.sql)."""
    value = span.attributes.get("db.calls", 1)
    return value if isinstance(value, int) and value > 0 else 1


def _statement(span: _Span) -> str | None:
    text = span.attributes.get("db.statement") or span.attributes.get("db.query.text")
    return " ".join(text.split()) if isinstance(text, str) else None


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _bottleneck(
    groups: list[SpanStat], repeated: list[RepeatedQuery], own: float | None
) -> str | None:
    """The one thing that takes most of the type's time, in a line."""
    candidates = [
        (r.share, f"db: {r.per_task}× {_shorten(r.statement, 60)} (N+1) ({r.share:.0%} of time)")  # noqa: RUF001
        for r in repeated
    ]
    candidates += [(g.share, f"{g.kind}: {g.name} ({g.share:.0%} of time)") for g in groups]
    if own is not None:
        candidates.append((own, f"own code ({own:.0%} of time)"))
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[0])[1]
