"""A span exporter that stores the spans of tasks in the `task_spans` table."""

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy.engine import Engine

from governor.models import ExecutionTask, TaskSpan
from governor.tracing.context import TASK_ID

log = logging.getLogger(__name__)

SPANS = cast(sa.Table, TaskSpan.__table__)
TASKS = cast(sa.Table, ExecutionTask.__table__)
NAME_LENGTH = 300

_SECRET = re.compile(r"authorization|api_?key|token(?!s)|password|passwd|secret|cookie", re.I)
"""Attribute keys (and URL query parameters) never stored. `…_tokens` counts are kept."""


def classify(span: ReadableSpan) -> str:
    """The kind of a span as Governor reports it: db, llm, http or internal."""
    attributes = span.attributes or {}
    if "db.system" in attributes or "db.system.name" in attributes:
        return "db"
    if "gen_ai.operation.name" in attributes or "gen_ai.request.model" in attributes:
        return "llm"
    if span.kind == SpanKind.CLIENT and (
        "http.request.method" in attributes or "http.method" in attributes
    ):
        return "http"
    return "internal"


def is_secret(key: str) -> bool:
    """Whether an attribute key names something that must not be stored (a credential)."""
    return bool(_SECRET.search(key))


class TaskSpanExporter(SpanExporter):
    """Writes the spans that carry `governor.task.id`, one INSERT per export; drops the rest."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._shut_down = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Store the batch; a database failure is logged and reported, never raised."""
        if self._shut_down:
            return SpanExportResult.FAILURE
        rows = [row for row in map(span_row, spans) if row is not None]
        if not rows:
            return SpanExportResult.SUCCESS
        try:
            # The exporter's own queries must not become spans (they would feed this exporter).
            with suppress_instrumentation():
                self._insert(rows)
        except Exception:
            log.exception("could not store %d task spans", len(rows))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(SPANS), rows)
        except sa.exc.IntegrityError:
            # A span of a task that is not (or no longer) in the table: keep the others.
            with self.engine.begin() as conn:
                ids = {row["task_id"] for row in rows}
                known = set(conn.scalars(sa.select(TASKS.c.id).where(TASKS.c.id.in_(ids))))
                kept = [row for row in rows if row["task_id"] in known]
                if len(kept) < len(rows):
                    log.warning("dropped %d spans of unknown tasks", len(rows) - len(kept))
                if kept:
                    conn.execute(sa.insert(SPANS), kept)

    def shutdown(self) -> None:
        """Refuse further exports."""
        self._shut_down = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here: every export writes at once."""
        return True


def span_row(span: ReadableSpan) -> dict[str, Any] | None:
    """The `task_spans` row of a span, or None when it belongs to no task."""
    attributes = span.attributes or {}
    task_id = attributes.get(TASK_ID)
    if not isinstance(task_id, str) or span.context is None or span.start_time is None:
        return None
    end_time = span.end_time if span.end_time is not None else span.start_time
    return {
        "task_id": task_id,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "name": span.name[:NAME_LENGTH],
        "kind": classify(span),
        "started_at": _datetime(span.start_time),
        "duration_us": max(0, end_time - span.start_time) // 1000,
        "attributes": clean_attributes(span),
    }


def clean_attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes as JSON values, without credentials, with its error if it failed."""
    cleaned = _clean(span.attributes or {})
    cleaned.pop(TASK_ID, None)  # already a column
    if span.status.status_code == StatusCode.ERROR:
        cleaned["otel.status_code"] = "ERROR"
        if span.status.description:
            cleaned["otel.status_description"] = span.status.description
    for event in span.events:
        if event.name == "exception":
            cleaned.update(_clean({k: v for k, v in (event.attributes or {}).items()
                                   if k in ("exception.type", "exception.message")}))  # fmt: skip
            break
    return cleaned


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in attributes.items() if not is_secret(key)}


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _scrub_url(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def _scrub_url(value: str) -> str:
    """A URL with the values of secret-looking query parameters replaced; other text as it is."""
    if "?" not in value or "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return value
    if not any(is_secret(name) for name, _ in query):
        return value
    redacted = [(name, "REDACTED" if is_secret(name) else item) for name, item in query]
    return urlunsplit(parts._replace(query=urlencode(redacted)))


def _datetime(nanoseconds: int) -> datetime:
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)
