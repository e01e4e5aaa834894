"""Server-sent events: tell open pages that tasks finished, money arrived, the gate or alerts moved.

Every POLL_SECONDS the stream reads a fingerprint of four indexed maxima in one query and
sends a `change` event when it moved; a comment every HEARTBEAT_SECONDS keeps proxies from
closing an idle stream. A stream ends after STREAM_SECONDS (the browser reconnects and says
the last fingerprint it saw in Last-Event-ID), so no connection outlives a server shutdown
for long.
"""

import hashlib
import json
import time
from collections.abc import AsyncIterator

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from governor.errors import GovernorError
from governor.models import Alert, ExecutionTask, GateEvent, LedgerEntry
from governor.storage.db import session_scope

router = APIRouter()

POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 60.0
RETRY_MS = 2000
PARTS = ("tasks", "money", "gate", "alerts")

_FINGERPRINT = sa.select(
    sa.select(sa.func.max(ExecutionTask.finished_at)).scalar_subquery(),
    sa.select(sa.func.max(LedgerEntry.id)).scalar_subquery(),
    sa.select(sa.func.max(GateEvent.at)).scalar_subquery(),
    sa.select(sa.func.max(Alert.last_seen)).scalar_subquery(),
)


def read_state() -> tuple[str, ...] | None:
    """The four maxima as text, or None when the database cannot be read just now."""
    try:
        with session_scope(readonly=True) as session:
            row = session.execute(_FINGERPRINT).one()
    except (sa.exc.SQLAlchemyError, GovernorError):
        return None
    return tuple("" if value is None else str(value) for value in row)


def fingerprint(state: tuple[str, ...]) -> str:
    """A short id of a state, sent as the event id."""
    return hashlib.sha256("|".join(state).encode()).hexdigest()[:16]


def event(name: str, ident: str, data: dict[str, object]) -> str:
    """One server-sent event."""
    return f"id: {ident}\nevent: {name}\ndata: {json.dumps(data)}\n\n"


async def stream(request: Request, last_seen: str | None) -> AsyncIterator[str]:
    """The events of one connection."""
    yield f"retry: {RETRY_MS}\n\n"
    state = await run_in_threadpool(read_state)
    current = fingerprint(state) if state is not None else ""
    moved = last_seen is not None and state is not None and last_seen != current
    yield event("change" if moved else "ready", current, {"changed": list(PARTS) if moved else []})
    started = sent = time.monotonic()
    while time.monotonic() - started < STREAM_SECONDS:
        await anyio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        now_state = await run_in_threadpool(read_state)
        if now_state is not None and now_state != state:
            changed = [p for p, a, b in zip(PARTS, state or (), now_state, strict=False) if a != b]
            state, current = now_state, fingerprint(now_state)
            sent = time.monotonic()
            yield event("change", current, {"changed": changed or list(PARTS)})
        elif time.monotonic() - sent >= HEARTBEAT_SECONDS:
            sent = time.monotonic()
            yield ": heartbeat\n\n"


@router.get("/live")
async def live(request: Request) -> StreamingResponse:
    """An event stream: `ready` first, then `change` whenever what the pages show moved."""
    return StreamingResponse(
        stream(request, request.headers.get("last-event-id")),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
