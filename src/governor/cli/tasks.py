"""`governor tasks …`: submit, list, show, cancel and retry the agents' tasks."""

from typing import TYPE_CHECKING

import typer

from governor.cli.guarded import guarded_engine
from governor.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from governor.models import ExecutionTask

app = typer.Typer(help="Submit, inspect, cancel and retry tasks.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON only.")


def task_dict(task: "ExecutionTask") -> dict[str, object]:
    """A task as JSON: the table's columns under their names."""
    return {column.name: getattr(task, column.key) for column in task.__table__.columns}


@app.command()
def submit(
    type: str = typer.Argument(..., help="Task type, e.g. implement_idea."),
    input: str | None = typer.Option(None, "--input", help="Input as JSON."),
    after: list[str] = typer.Option([], "--after", help="Run after this task succeeded."),
    idempotency_key: str | None = typer.Option(None, "--idempotency-key"),
    as_json: bool = JSON,
) -> None:
    """Record a pending task; print its id."""
    from governor.storage.db import session_scope
    from governor.tasks import service

    engine = guarded_engine()
    payload = service.parse_input(input)
    with session_scope(engine) as session:
        task_id = service.submit(
            session, type, payload, after=after, idempotency_key=idempotency_key
        )
    if as_json:
        print_json({"id": task_id})
    else:
        console.print(task_id)


@app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status"),
    type: str | None = typer.Option(None, "--type"),
    kind: str | None = typer.Option(None, "--kind", help="agent or system"),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = JSON,
) -> None:
    """The newest tasks first."""
    from rich.table import Table

    from governor.storage.db import session_scope
    from governor.tasks import service

    with session_scope(guarded_engine(readonly=True), readonly=True) as session:
        tasks = service.list_tasks(session, status=status, type=type, kind=kind, limit=limit)
    if as_json:
        print_json([task_dict(t) for t in tasks])
        return
    table = Table("id", "type", "status", "attempts", "ai_model", "duration_ms", "created_at")
    for t in tasks:
        table.add_row(
            t.id, t.type, t.status, f"{t.attempts}/{t.max_attempts}", t.ai_model or "",
            str(t.duration_ms or ""), t.created_at.isoformat(timespec="seconds"),
        )  # fmt: skip
    print_table(table)


@app.command()
def show(task_id: str, as_json: bool = JSON) -> None:
    """One task with every column."""
    from governor.storage.db import session_scope
    from governor.tasks import service

    with session_scope(guarded_engine(readonly=True), readonly=True) as session:
        data = task_dict(service.get_task(session, task_id))
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"[bold]{key}[/bold]: {value}")


@app.command()
def cancel(task_id: str) -> None:
    """Cancel a pending task, or ask a running one to stop."""
    from governor.storage.db import session_scope
    from governor.tasks import service

    with session_scope(guarded_engine()) as session:
        task = service.cancel(session, task_id)
    console.print(f"{task_id}: {'cancelled' if task.status == 'cancelled' else 'asked to stop'}")


@app.command()
def retry(task_id: str) -> None:
    """Run a failed, skipped or cancelled task again."""
    from governor.storage.db import session_scope
    from governor.tasks import service

    with session_scope(guarded_engine()) as session:
        revived = service.retry(session, task_id)
    others = (
        f" with {len(revived) - 1} task(s) that had skipped because of it"
        if len(revived) > 1
        else ""
    )
    console.print(f"{task_id}: pending again{others}")


@app.command()
def profile(
    type: str | None = typer.Option(None, "--type", help="Only this task type."),
    since: str | None = typer.Option(None, "--since", help="ISO date/time, or 24h, 7d."),
    as_json: bool = JSON,
) -> None:
    """Where each task type spends its time: db, http, llm, own code; slow spans; N+1 queries."""
    from governor.cli.timeopts import parse_when
    from governor.storage.db import session_scope
    from governor.tracing.profiles import profile as compute
    from governor.tracing.render import profile_tables

    start = parse_when(since) if since else None
    with session_scope(guarded_engine(readonly=True), readonly=True) as session:
        profiles = compute(session, task_type=type, since=start)
    if as_json:
        print_json([p.to_dict() for p in profiles])
        return
    if not profiles:
        console.print("No finished tasks to profile yet.")
    for table in profile_tables(profiles):
        print_table(table)
