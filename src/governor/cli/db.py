"""`governor db …`: migrate, inspect, check, back up and restore the database."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from governor.cli.output import console, print_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from governor.storage.migrate import MigrationResult

app = typer.Typer(help="Migrate, check, back up and restore the database.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON only.")


def _engine() -> "Engine":
    from governor.storage.db import get_engine

    return get_engine()


def _print_migration(result: "MigrationResult", as_json: bool) -> None:
    if as_json:
        print_json(result.to_dict())
        return
    if result.backup:
        console.print(f"backup: {result.backup.path}")
    if result.before == result.after:
        console.print(f"already at {result.after or 'base'}: nothing to do")
    else:
        console.print(f"{result.direction}d {result.before or 'base'} → {result.after or 'base'}")


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Revision to reach (default: the newest)."),
    no_backup: bool = typer.Option(False, "--no-backup", help="Skip the backup taken first."),
    as_json: bool = JSON,
) -> None:
    """Apply pending migrations, after a verified backup; a failure restores it."""
    from governor.storage.migrate import migrate

    _print_migration(migrate(_engine(), "upgrade", revision, backup=not no_backup), as_json)


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Revision to go back to ('base' for none)."),
    no_backup: bool = typer.Option(False, "--no-backup", help="Skip the backup taken first."),
    as_json: bool = JSON,
) -> None:
    """Revert migrations down to REVISION, after a verified backup."""
    from governor.storage.migrate import migrate

    _print_migration(migrate(_engine(), "downgrade", revision, backup=not no_backup), as_json)


@app.command()
def current(as_json: bool = JSON) -> None:
    """Show the database's revision and the code's head."""
    from governor.storage import revisions
    from governor.storage.backup import governor_revision

    revision, head = governor_revision(_engine()), revisions.head()
    if as_json:
        print_json({"revision": revision, "head": head, "at_head": revision == head})
        return
    state = "up to date" if revision == head else f"head is {head}"
    console.print(f"{revision or 'none (empty database)'} ({state})")


@app.command()
def history(as_json: bool = JSON) -> None:
    """List every migration, oldest first, marking the database's revision."""
    from governor.storage import revisions
    from governor.storage.backup import governor_revision

    applied = governor_revision(_engine())
    migrations = revisions.history()
    if as_json:
        print_json([{**m.__dict__, "current": m.revision == applied} for m in migrations])
        return
    for m in migrations:
        marker = "  ← database" if m.revision == applied else ""
        console.print(f"{m.revision}  {m.message}  [dim]{m.path}[/dim]{marker}")


@app.command()
def check(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Behind the code: every table and column it lacks too."
    ),
    as_json: bool = JSON,
) -> None:
    """Compare the database with the code; exit 1 on drift, 2 if it cannot be reached."""
    from governor.storage.guard import check_schema, summary

    report = check_schema(_engine())
    if as_json:
        print_json(report.to_dict())
    elif report.clean:
        console.print(f"[green]clean[/green]: {report.database} is at {report.revision}")
    else:
        console.print(f"[red]drift[/red] in {report.database}:")
        for line in summary(report, verbose=verbose):
            console.print(f"  {'' if line.startswith(' ') else '- '}{line}", markup=False)
    raise typer.Exit(0 if report.clean else 1)


@app.command()
def backup(
    path: Path | None = typer.Argument(None, help="File to write (default: in the backup folder)."),
    as_json: bool = JSON,
) -> None:
    """Write a verified backup of the whole database."""
    from governor.storage.backup import create_backup

    made = create_backup(_engine(), path)
    if as_json:
        print_json(made.to_dict())
    else:
        console.print(f"backup: {made.path} (revision {made.revision}, {made.size_bytes} bytes)")


@app.command()
def restore(
    path: Path = typer.Argument(..., help="A backup written by `db backup` or `db upgrade`."),
    as_json: bool = JSON,
) -> None:
    """Replace the database with a backup, after saving the current one."""
    from governor.storage.backup import restore_backup

    done = restore_backup(_engine(), path)
    if as_json:
        previous = done.previous.to_dict() if done.previous else None
        print_json({"restored": done.backup.to_dict(), "previous": previous})
        return
    if done.previous:
        console.print(f"saved the current database to {done.previous.path}")
    console.print(f"restored {done.backup.path} (revision {done.backup.revision})")


@app.command()
def repair(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the SQL; change nothing."),
    as_json: bool = JSON,
) -> None:
    """Put back what was changed by hand, as the models define it, after a verified backup;
    exit 1 if some difference is refused (the reason is shown) or the repair failed."""
    from governor.storage.repair import apply_repair, plan_repair

    engine = _engine()
    plan = plan_repair(engine)
    if not as_json:
        _print_plan(plan.statements, [str(r) for r in plan.refused], dry_run)
    done = plan if dry_run else apply_repair(engine, plan)
    if as_json:
        print_json({"dry_run": dry_run, **done.to_dict()})
    elif not dry_run and done.applied:
        assert done.backup is not None
        console.print(f"backup: {done.backup.path} (verified)", markup=False)
        verdict = "the schema is clean" if done.complete else "drift remains:"
        console.print(f"repaired in one transaction: {verdict}", markup=False)
        for problem in done.remaining:
            console.print(f"  - {problem}", markup=False)
    raise typer.Exit(0 if done.complete else 1)


def _print_plan(statements: list[str], refused: list[str], dry_run: bool) -> None:
    if not statements and not refused:
        console.print("[green]clean[/green]: nothing to repair")
        return
    if statements:
        verb = "would run" if dry_run else "runs"
        tried = " (tried just now and rolled back: nothing was changed)" if dry_run else ""
        console.print(f"The repair {verb}, in one transaction{tried}:", markup=False)
        for statement in statements:
            console.print(f"  {statement};", markup=False)
    if refused:
        console.print("[red]refused[/red] (left as it is):")
        for reason in refused:
            console.print(f"  - {reason}", markup=False)
