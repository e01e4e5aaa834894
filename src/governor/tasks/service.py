"""Submitting, listing, cancelling and retrying tasks (services take a Session, never commit)."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from governor.errors import BadInput, NotFound
from governor.ids import new_id
from governor.models import ExecutionTask, TaskDependency
from governor.models.types import utcnow
from governor.tasks import registry

STATUSES = ("pending", "running", "succeeded", "failed", "skipped", "cancelled")
FINAL = ("succeeded", "failed", "skipped", "cancelled")


def parse_input(raw: str | None) -> Any:
    """Task input from the command line: JSON, or BadInput saying where it breaks."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadInput(
            f"--input is not JSON: {error.msg} at line {error.lineno} column {error.colno}.",
            hint='Quote it for the shell, e.g. --input \'{"idea_id": "idea_1"}\'.',
        ) from None


def submit(
    session: Session,
    type: str,
    input: Any = None,
    *,
    after: Sequence[str] = (),
    idea_id: str | None = None,
    offer_id: str | None = None,
    order_id: str | None = None,
    idempotency_key: str | None = None,
    not_before: datetime | None = None,
) -> str:
    """Record a pending task and its dependencies; return its id (the first for a repeated key).

    `not_before` holds the task back until then (a delayed or debounced run).
    """
    spec = registry.get(type)
    existing = _with_key(session, idempotency_key)
    if existing is not None:
        return existing
    try:
        json.dumps(input)
    except (TypeError, ValueError) as error:
        raise BadInput(f"Task input must be JSON-serialisable: {error}") from None
    parents = _dependencies(session, after)
    blocked = [p for p in parents if p.status in UNSUCCESSFUL]
    task = ExecutionTask(
        id=new_id("task"), kind=spec.kind, type=type, status="pending", input=input,
        attempts=0, max_attempts=spec.max_attempts, timeout_s=spec.timeout,
        idempotency_key=idempotency_key, idea_id=idea_id, offer_id=offer_id, order_id=order_id,
        waiting_on=sum(p.status != "succeeded" for p in parents), dependents=0,
        tokens_in=0, tokens_out=0,
        tokens_cached=0, cancel_requested=False, created_at=utcnow(), not_before=not_before,
    )  # fmt: skip
    if blocked:
        task.status, task.finished_at = "skipped", utcnow()
        task.error = f"dependency {blocked[0].id} {blocked[0].status}"
    try:
        with session.begin_nested():  # a concurrent submit with the same key may win the race
            session.add(task)
    except IntegrityError:
        won = _with_key(session, idempotency_key)
        if won is None:
            raise
        return won
    session.add_all(TaskDependency(task_id=task.id, depends_on_id=p.id) for p in parents)
    if parents:  # parents learn they have one more dependent, under their row lock
        session.execute(
            update(ExecutionTask)
            .where(ExecutionTask.id.in_([p.id for p in parents]))
            .values(dependents=ExecutionTask.dependents + 1)
        )
    session.flush()
    return task.id


def _with_key(session: Session, idempotency_key: str | None) -> str | None:
    if idempotency_key is None:
        return None
    query = select(ExecutionTask.id).where(ExecutionTask.idempotency_key == idempotency_key)
    return session.scalar(query)


def _dependencies(session: Session, after: Sequence[str]) -> list[ExecutionTask]:
    wanted = list(dict.fromkeys(after))
    if not wanted:
        return []
    # Locking the parents orders this submit with their completion: a parent that finishes
    # meanwhile either is seen finished here, or sees this task among its dependents.
    query = select(ExecutionTask).where(ExecutionTask.id.in_(wanted)).with_for_update()
    found = {t.id: t for t in session.scalars(query)}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise BadInput(
            f"Cannot depend on unknown task(s): {', '.join(missing)}.",
            hint="`governor tasks list` shows the ids.",
        )
    # A new task can only point at tasks that already exist, so the graph it joins stays acyclic.
    return [found[i] for i in wanted]


def get_task(session: Session, task_id: str, *, lock: bool = False) -> ExecutionTask:
    """One task (row-locked until the commit when `lock`), or NotFound."""
    task = session.get(ExecutionTask, task_id, with_for_update=lock)
    if task is None:
        raise NotFound(f"No task {task_id}.", hint="`governor tasks list` shows the ids.")
    return task


def list_tasks(
    session: Session,
    *,
    status: str | None = None,
    type: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> list[ExecutionTask]:
    """The newest tasks first, filtered."""
    if status is not None and status not in STATUSES:
        raise BadInput(f"Unknown status '{status}'.", hint=f"Use one of: {', '.join(STATUSES)}.")
    if limit < 1:
        raise BadInput(f"--limit must be positive, not {limit}.")
    query = select(ExecutionTask).order_by(ExecutionTask.created_at.desc(), ExecutionTask.id.desc())
    for column, value in ((ExecutionTask.status, status), (ExecutionTask.type, type),
                          (ExecutionTask.kind, kind)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.limit(limit)))


def cancel(session: Session, task_id: str) -> ExecutionTask:
    """Cancel a pending task (its dependents are skipped); ask a running one to stop."""
    task = get_task(session, task_id, lock=True)  # a claim cannot slip in between
    if task.status == "pending":
        task.status, task.finished_at, task.error = "cancelled", utcnow(), "cancelled by request"
        session.flush()
        skip_dependents(session, [task.id], f"dependency {task.id} cancelled")
    elif task.status == "running":
        task.cancel_requested = True
        session.flush()
    else:
        raise BadInput(
            f"Task {task_id} is already {task.status}; only pending or running tasks cancel."
        )
    return task


def retry(session: Session, task_id: str) -> list[ExecutionTask]:
    """Run a failed, skipped or cancelled task again, and the dependents it had made skip.

    Returns the tasks made pending: the task first, then its revived dependents.
    """
    task = get_task(session, task_id, lock=True)
    if task.status not in ("failed", "skipped", "cancelled"):
        raise BadInput(f"Task {task_id} is {task.status}; only finished, unsuccessful tasks retry.")
    blocked = [p for p in _parents(session, task.id) if p.status in UNSUCCESSFUL]
    if blocked:
        raise BadInput(
            f"Task {task_id} depends on {blocked[0].id}, which {blocked[0].status}.",
            hint=f"Retry {blocked[0].id}: the tasks that skipped because of it come back too.",
        )
    revived = [_make_pending(session, task)]
    frontier = [task.id]
    while frontier:
        children = session.scalars(
            select(ExecutionTask)
            .join(TaskDependency, TaskDependency.task_id == ExecutionTask.id)
            .where(TaskDependency.depends_on_id.in_(frontier), ExecutionTask.status == "skipped")
        ).unique().all()  # fmt: skip
        frontier = []
        for child in children:
            if not any(p.status in UNSUCCESSFUL for p in _parents(session, child.id)):
                revived.append(_make_pending(session, child))
                frontier.append(child.id)
    session.flush()
    return revived


UNSUCCESSFUL = ("failed", "skipped", "cancelled")


def _parents(session: Session, task_id: str) -> list[ExecutionTask]:
    query = (
        select(ExecutionTask)
        .join(TaskDependency, TaskDependency.depends_on_id == ExecutionTask.id)
        .where(TaskDependency.task_id == task_id)
        .with_for_update(of=ExecutionTask)  # a parent finishing now waits for this decision
    )
    return list(session.scalars(query))


def _make_pending(session: Session, task: ExecutionTask) -> ExecutionTask:
    """Reset a finished task to wait for its parents again, with a fresh attempt budget."""
    task.status, task.attempts, task.error, task.traceback = "pending", 0, None, None
    task.started_at = task.finished_at = task.not_before = task.duration_ms = None
    task.cancel_requested = False
    task.waiting_on = sum(p.status != "succeeded" for p in _parents(session, task.id))
    session.flush()
    return task


def skip_dependents(session: Session, task_ids: list[str], reason: str) -> int:
    """Mark every pending task downstream of these as skipped; return how many."""
    skipped = 0
    frontier = task_ids
    while frontier:
        children = session.scalars(
            select(TaskDependency.task_id).where(TaskDependency.depends_on_id.in_(frontier))
        ).all()
        if not children:
            break
        result = session.execute(
            update(ExecutionTask)
            .where(ExecutionTask.id.in_(children), ExecutionTask.status == "pending")
            .values(status="skipped", error=reason, finished_at=utcnow())
            .returning(ExecutionTask.id)
        )
        frontier = list(result.scalars())
        skipped += len(frontier)
    return skipped


def release_dependents(session: Session, task_ids: list[str]) -> None:
    """These tasks succeeded: each dependent waits for as many tasks fewer."""
    if not task_ids:
        return
    d = TaskDependency
    edges = session.execute(
        select(d.task_id, func.count()).where(d.depends_on_id.in_(task_ids)).group_by(d.task_id)
    ).all()
    if not edges:  # most tasks have no dependents: no write at all
        return
    tasks = cast(Table, ExecutionTask.__table__)
    session.connection().execute(  # Core executemany: one statement, a parameter set per child
        update(tasks)
        .where(tasks.c.id == bindparam("child"), tasks.c.status == "pending")
        .values(waiting_on=tasks.c.waiting_on - bindparam("done")),
        [{"child": child, "done": done} for child, done in edges],
    )


def counts_by_status(session: Session) -> dict[str, int]:
    """How many tasks are in each status."""
    rows = session.execute(
        select(ExecutionTask.status, func.count()).group_by(ExecutionTask.status)
    )
    return {status: count for status, count in rows}
