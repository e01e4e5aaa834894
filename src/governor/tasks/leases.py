"""Claiming tasks under a lease, renewing it, and recording how an attempt ended."""

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from governor.models import ExecutionTask
from governor.models.types import utcnow
from governor.tasks.service import release_dependents, skip_dependents

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 300.0
DISPATCHED = "dispatch:"
"""Lease owners starting with this hold a task for a worker that has not taken it yet."""


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


def claim(
    session: Session, owner: str, limit: int, *, lease_s: float, agents_allowed: bool,
    exclude_types: frozenset[str] = frozenset(), only_type: str | None = None,
) -> list[Claimed]:  # fmt: skip
    """Lease up to `limit` ready tasks (or tasks whose lease expired) to `owner`.

    PostgreSQL locks the candidate rows with FOR UPDATE SKIP LOCKED, so concurrent workers
    take different tasks; SQLite serialises writers with BEGIN IMMEDIATE (storage/db.py), so
    the select and the conditional update below happen as one step.
    """
    now = utcnow()
    t = ExecutionTask
    ready = and_(
        t.status == "pending", t.waiting_on == 0, or_(t.not_before.is_(None), t.not_before <= now)
    )
    expired = and_(t.status == "running", t.lease_expires_at < now)
    query = select(t.id).where(or_(ready, expired))
    if not agents_allowed:
        query = query.where(t.kind == "system")
    if exclude_types:
        query = query.where(t.type.not_in(exclude_types))
    if only_type is not None:
        query = query.where(t.type == only_type)
    query = query.order_by(t.created_at).limit(limit).with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    # An attempt that was queued for a worker but never taken over is sent again as the same
    # attempt; one that a worker had started (and lost) counts as an attempt.
    never_started = and_(t.status == "running", t.lease_owner.startswith(DISPATCHED))
    rows = session.execute(
        update(t)
        .where(t.id.in_(ids), or_(ready, expired))
        .values(status="running", lease_owner=owner, started_at=now, not_before=None,
                attempts=case((never_started, t.attempts), else_=t.attempts + 1),
                lease_expires_at=now + timedelta(seconds=lease_s))
        .returning(t.id, t.type, t.kind, t.input, t.attempts, t.max_attempts,
                   t.idempotency_key, t.timeout_s)
    ).all()  # fmt: skip
    return [Claimed(*row) for row in rows]


def claim_batch(
    session: Session, owner: str, limit: int, *, lease_s: float, agents_allowed: bool,
    type_room: dict[str, int],
) -> list[Claimed]:  # fmt: skip
    """Claim up to `limit` tasks, at most `type_room[t]` of each type that has a limit."""
    limited = frozenset(type_room)
    claimed = claim(session, owner, limit, lease_s=lease_s, agents_allowed=agents_allowed,
                    exclude_types=limited)  # fmt: skip
    for task_type, room in type_room.items():
        free = min(room, limit - len(claimed))
        if free > 0:
            claimed += claim(session, owner, free, lease_s=lease_s, agents_allowed=agents_allowed,
                             only_type=task_type)  # fmt: skip
    return claimed


def take_over(
    session: Session, task_id: str, attempt: int, owner: str, lease_s: float
) -> Claimed | None:
    """A worker takes a dispatched attempt from the dispatcher; None if the message is stale."""
    t = ExecutionTask
    row = session.execute(
        update(t)
        .where(t.id == task_id, t.attempts == attempt, t.status == "running",
               t.lease_owner.startswith(DISPATCHED))
        .values(lease_owner=owner, started_at=utcnow(),
                lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        .returning(t.id, t.type, t.kind, t.input, t.attempts, t.max_attempts,
                   t.idempotency_key, t.timeout_s)
    ).first()  # fmt: skip
    return Claimed(*row) if row else None


def renew(session: Session, owner: str, task_ids: list[str], lease_s: float) -> set[str]:
    """Extend the leases still held; return the ids whose cancellation was requested."""
    if not task_ids:
        return set()
    t = ExecutionTask
    held = and_(t.id.in_(task_ids), t.lease_owner == owner, t.status == "running")
    session.execute(
        update(t).where(held).values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
    )
    return set(session.scalars(select(t.id).where(held, t.cancel_requested.is_(True))))


def _owned(task_id: str, owner: str) -> Any:
    t = ExecutionTask
    return and_(t.id == task_id, t.lease_owner == owner, t.status == "running")


def _finished(**values: Any) -> dict[str, Any]:
    now = utcnow()
    return {"finished_at": now, "lease_owner": None, "lease_expires_at": None, **values}


def succeed(session: Session, task_id: str, owner: str, output: Any, usage: dict[str, Any]) -> bool:
    """Record success (if the lease is still ours) and release the dependents."""
    task = session.get(ExecutionTask, task_id)
    if task is None or task.lease_owner != owner or task.status != "running":
        return False  # the lease expired and another worker took the task over
    values = _finished(status="succeeded", output=output, error=None, traceback=None, **usage)
    values["duration_ms"] = _duration_ms(task, values["finished_at"])
    session.execute(update(ExecutionTask).where(_owned(task_id, owner)).values(**values))
    release_dependents(session, task_id)
    return True


def fail(
    session: Session, task_id: str, owner: str, *, error: str, traceback: str | None,
    usage: dict[str, Any], cancelled: bool = False, backoff_s: float = BACKOFF_BASE_S,
) -> str | None:  # fmt: skip
    """Record a failed attempt: retry later with backoff, or fail (or cancel) for good."""
    task = session.get(ExecutionTask, task_id)
    if task is None or task.lease_owner != owner or task.status != "running":
        return None
    if not cancelled and task.attempts < task.max_attempts:
        delay = min(BACKOFF_CAP_S, backoff_s * 2 ** (task.attempts - 1))
        values = {"status": "pending", "lease_owner": None, "lease_expires_at": None,
                  "not_before": utcnow() + timedelta(seconds=delay * random.uniform(0.5, 1.0)),
                  "error": error, "traceback": traceback, **usage}  # fmt: skip
    else:
        status = "cancelled" if cancelled else "failed"
        values = _finished(status=status, error=error, traceback=traceback, **usage)
        values["duration_ms"] = _duration_ms(task, values["finished_at"])
    session.execute(update(ExecutionTask).where(_owned(task_id, owner)).values(**values))
    if values["status"] != "pending":
        skip_dependents(session, [task_id], f"dependency {task_id} {values['status']}")
    return str(values["status"])


def _duration_ms(task: ExecutionTask, finished: Any) -> int | None:
    if task.started_at is None:
        return None
    return int((finished - task.started_at).total_seconds() * 1000)
