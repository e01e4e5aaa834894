"""Claiming tasks under a lease, renewing it, and recording how an attempt ended.

These are the engine's hot paths, so they use SQLAlchemy Core statements built once at import
(building an expression costs more than running it) on the `execution_tasks` table.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, or_, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from governor.models import ExecutionTask
from governor.models.types import utcnow
from governor.tasks.service import release_dependents, skip_dependents

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 300.0
DISPATCHED = "dispatch:"
"""Lease owners starting with this hold a task for a worker that has not taken it yet."""

T = cast(Table, ExecutionTask.__table__).c
_TASKS = cast(Table, ExecutionTask.__table__)


@dataclass(frozen=True)
class Claimed:
    """What a worker needs to run one attempt, detached from the session."""

    id: str
    type: str
    kind: str
    input: Any
    attempt: int
    max_attempts: int
    idempotency_key: str | None
    timeout_s: float | None
    started_at: datetime


_CLAIMED = (T.id, T.type, T.kind, T.input, T.attempts, T.max_attempts, T.idempotency_key,
            T.timeout_s, T.started_at)  # fmt: skip
_NOW = bindparam("now", type_=T.started_at.type)
_EXPIRES = bindparam("expires", type_=T.lease_expires_at.type)
_READY = (
    select(T.id)
    .where(T.status == "pending", T.waiting_on == 0,
           or_(T.not_before.is_(None), T.not_before <= _NOW))
    .order_by(T.created_at)
)  # fmt: skip
_LOST = and_(T.status == "running", T.lease_expires_at < _NOW)
# A lost lease runs again while attempts remain; a queued, never-started one always may.
_EXPIRED = select(T.id).where(
    _LOST, or_(T.attempts < T.max_attempts, T.lease_owner.startswith(DISPATCHED))
)
_EXHAUSTED = (
    update(_TASKS)
    .where(_LOST, T.attempts >= T.max_attempts, ~T.lease_owner.startswith(DISPATCHED))
    .values(status="failed", lease_owner=None, lease_expires_at=None, finished_at=_NOW,
            error="the lease ran out during the last attempt: its worker stopped or was killed")
    .returning(T.id)
)  # fmt: skip
# An attempt that was queued for a worker but never taken over is sent again as the same
# attempt; one that a worker had started (and lost) counts as an attempt.
_NEVER_STARTED = and_(T.status == "running", T.lease_owner.startswith(DISPATCHED))
_TAKE = (
    update(_TASKS)
    .where(T.id.in_(bindparam("ids", expanding=True)))
    .values(status="running", lease_owner=bindparam("owner"), started_at=_NOW, not_before=None,
            attempts=case((_NEVER_STARTED, T.attempts), else_=T.attempts + 1),
            lease_expires_at=_EXPIRES)
    .returning(*_CLAIMED)
)  # fmt: skip
_TAKE_OVER = (
    update(_TASKS)
    .where(tuple_(T.id, T.attempts).in_(bindparam("pairs", expanding=True)),
           T.status == "running", T.lease_owner.startswith(DISPATCHED))
    .values(lease_owner=bindparam("owner"), started_at=_NOW, lease_expires_at=_EXPIRES)
    .returning(*_CLAIMED)
)  # fmt: skip


def claim(
    session: Session, owner: str, limit: int, *, lease_s: float, agents_allowed: bool,
    exclude_types: frozenset[str] = frozenset(), only_type: str | None = None,
    expired: bool = True,
) -> list[Claimed]:  # fmt: skip
    """Lease up to `limit` ready tasks (then, with `expired`, tasks whose lease ran out).

    PostgreSQL locks the candidate rows with FOR UPDATE SKIP LOCKED, so concurrent workers
    take different tasks; SQLite serialises writers with BEGIN IMMEDIATE (storage/db.py), so
    the select and the update below happen as one step.
    """
    now = utcnow()
    if expired:
        for task_id in session.scalars(_EXHAUSTED, {"now": now}).all():
            skip_dependents(session, [task_id], f"dependency {task_id} failed")
    ids: list[str] = []
    for candidates in (_READY, _EXPIRED) if expired else (_READY,):
        if len(ids) >= limit:
            break
        query = candidates
        if not agents_allowed:
            query = query.where(T.kind == "system")
        if exclude_types:
            query = query.where(T.type.not_in(exclude_types))
        if only_type is not None:
            query = query.where(T.type == only_type)
        query = query.limit(limit - len(ids)).with_for_update(skip_locked=True)
        ids += session.scalars(query, {"now": now})
    if not ids:
        return []
    expires = now + timedelta(seconds=lease_s)
    rows = session.execute(_TAKE, {"ids": ids, "owner": owner, "now": now, "expires": expires})
    return [Claimed(*row) for row in rows]


def ready_count(session: Session, at_most: int) -> int:
    """How many tasks are ready to run now, counted up to `at_most` (a cheap backlog gauge)."""
    ready = _READY.limit(at_most).subquery()
    return int(session.scalar(select(func.count()).select_from(ready), {"now": utcnow()}) or 0)


def claim_batch(
    session: Session, owner: str, limit: int, *, lease_s: float, agents_allowed: bool,
    type_room: dict[str, int], expired: bool = True,
) -> list[Claimed]:  # fmt: skip
    """Claim up to `limit` tasks, at most `type_room[t]` of each type that has a limit."""
    claimed = claim(session, owner, limit, lease_s=lease_s, agents_allowed=agents_allowed,
                    exclude_types=frozenset(type_room), expired=expired)  # fmt: skip
    for task_type, room in type_room.items():
        free = min(room, limit - len(claimed))
        if free > 0:
            claimed += claim(session, owner, free, lease_s=lease_s, agents_allowed=agents_allowed,
                             only_type=task_type, expired=expired)  # fmt: skip
    return claimed


def take_over(
    session: Session, attempts: list[tuple[str, int]], owner: str, lease_s: float
) -> dict[str, Claimed]:
    """A worker takes dispatched attempts (task id, attempt) over; stale messages get nothing."""
    now = utcnow()
    params = {"pairs": attempts, "owner": owner, "now": now,
              "expires": now + timedelta(seconds=lease_s)}  # fmt: skip
    return {row.id: Claimed(*row) for row in session.execute(_TAKE_OVER, params)}


def renew(session: Session, owner: str, task_ids: list[str], lease_s: float) -> set[str]:
    """Extend the leases still held; return the ids whose cancellation was requested."""
    if not task_ids:
        return set()
    held = and_(T.id.in_(task_ids), T.lease_owner == owner, T.status == "running")
    _lock_in_order(session, held)
    session.execute(
        update(_TASKS).where(held).values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
    )
    return set(session.scalars(select(T.id).where(held, T.cancel_requested.is_(True))))


def _lock_in_order(session: Session, rows: ColumnElement[bool]) -> None:
    """Lock the rows by id, lowest first: two transactions locking overlapping sets (a renewal
    and a batch of outcomes) then wait for each other instead of deadlocking (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(T.id).where(rows).order_by(T.id).with_for_update())


def release(session: Session, owner: str, task_ids: list[str]) -> None:
    """Give back claimed attempts that never started: pending again, attempt not counted."""
    if not task_ids:
        return
    held = and_(T.id.in_(task_ids), T.lease_owner == owner, T.status == "running")
    session.execute(
        update(_TASKS).where(held).values(status="pending", lease_owner=None,
                                          lease_expires_at=None, attempts=T.attempts - 1)
    )  # fmt: skip


@dataclass
class Outcome:
    """How one attempt ended, ready to be recorded."""

    claimed: Claimed
    status: str  # succeeded, failed or cancelled
    output: Any = None
    error: str | None = None
    traceback: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    backoff_s: float = BACKOFF_BASE_S
    started_at: datetime | None = None  # when the handler started (claimed attempts may wait)
    finished_at: datetime = field(default_factory=utcnow)

    def values(self) -> dict[str, Any]:
        """Every recorded column: a final state, or pending again for a retry with backoff."""
        task = self.claimed
        values = {**_UNUSED, "error": self.error, "traceback": self.traceback, **self.usage}
        if self.status == "failed" and task.attempt < task.max_attempts:
            delay = min(BACKOFF_CAP_S, self.backoff_s * 2 ** (task.attempt - 1))
            not_before = self.finished_at + timedelta(seconds=delay * random.uniform(0.5, 1.0))
            return {**values, "status": "pending", "not_before": not_before}
        started = self.started_at or task.started_at
        duration = int((self.finished_at - started).total_seconds() * 1000)
        return {**values, "status": self.status, "output": self.output, "started_at": started,
                "finished_at": self.finished_at, "duration_ms": duration}  # fmt: skip


_RECORDED = (
    "status", "output", "error", "traceback", "lease_owner", "lease_expires_at", "not_before",
    "started_at", "finished_at", "duration_ms", "ai_model", "tokens_in", "tokens_out",
    "tokens_cached", "cost_micros", "price_version",
)  # fmt: skip
_UNUSED: dict[str, Any] = {name: None for name in _RECORDED} | {
    "tokens_in": 0, "tokens_out": 0, "tokens_cached": 0,
}  # fmt: skip
_WRITE = (
    update(_TASKS)
    .where(T.id == bindparam("task_id"), T.lease_owner == bindparam("owner"),
           T.status == "running")
    .values({T[n]: bindparam(f"new_{n}", type_=T[n].type) for n in _RECORDED})
)  # fmt: skip
# Locked in id order, as renew locks: overlapping sets then wait instead of deadlocking.
_HELD = select(T.id, T.dependents).where(
    T.id.in_(bindparam("ids", expanding=True)), T.lease_owner == bindparam("owner"),
    T.status == "running",
).order_by(T.id).with_for_update()  # fmt: skip


def record(session: Session, owner: str, outcomes: list[Outcome]) -> list[str]:
    """Write outcomes in one unit of work; return the status written for each ('' if lost).

    An outcome is written only while `owner` still holds the lease: if it expired and another
    worker took the task over, that worker's result counts and this one is dropped.
    """
    if not outcomes:
        return []
    ids = [o.claimed.id for o in outcomes]
    if len(outcomes) == 1:  # one round trip: the write itself says whether the lease held
        held = dict(session.execute(_WRITE.returning(T.id, T.dependents),
                                    _params(owner, outcomes[0])).all())  # fmt: skip
        rows = []
    else:
        held = dict(session.execute(_HELD, {"ids": ids, "owner": owner}).all())
        rows = [_params(owner, o) for o in outcomes if o.claimed.id in held]
    if rows:
        session.connection().execute(_WRITE, rows)
    written = [o.values()["status"] if o.claimed.id in held else "" for o in outcomes]
    pairs = list(zip(ids, written, strict=True))
    release_dependents(session, [i for i, status in pairs if status == "succeeded" and held[i]])
    for task_id, status in pairs:
        if status in ("failed", "cancelled") and held[task_id]:
            skip_dependents(session, [task_id], f"dependency {task_id} {status}")
    return written


def _params(owner: str, outcome: Outcome) -> dict[str, Any]:
    values = outcome.values()
    return {"task_id": outcome.claimed.id, "owner": owner,
            **{f"new_{name}": values[name] for name in _RECORDED}}  # fmt: skip
