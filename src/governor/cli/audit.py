"""`governor audit …` and `governor fsar …`: audit the system, and read or import FSAR reports."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from governor.cli.output import console, print_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

audit_app = typer.Typer(help="Audit the system with hard pass/fail gates.", no_args_is_help=True)
fsar_app = typer.Typer(help="Show and import FSAR reports.", no_args_is_help=True)


def _reports_engine() -> "Engine":
    """The configured engine, unguarded (reports are read on a drifted database too), as
    long as it has the reports' table."""
    import sqlalchemy as sa

    from governor.errors import GovernorError
    from governor.storage.db import get_engine

    engine = get_engine()
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("fsar_reports"):
            raise GovernorError(
                "This database has no FSAR reports table yet.",
                hint="Run `governor db upgrade`, then `governor audit run`.",
            )
    return engine


@audit_app.command("run")
def run(as_json: bool = typer.Option(False, "--json")) -> None:
    """Run every check and canary, store the FSAR report; exit 1 when a check fails. Runs on a
    drifted database too, reporting the drift as a failing hard gate."""
    from governor import jobs
    from governor.audits.service import run_audit
    from governor.config import get_settings
    from governor.storage.db import get_engine

    jobs.load()
    audit = run_audit(get_engine(), get_settings())
    if as_json:
        print_json({**audit.report.to_dict(), "passed": audit.passed,
                    "closed_gate": audit.closed_gate, "stored": audit.stored})  # fmt: skip
    else:
        for result in audit.results:
            mark = "[green]pass[/green]" if result.passed else f"[red]FAIL {result.severity}[/red]"
            console.print(f"{mark}  {result.name}: ", end="")
            console.print(result.summary, markup=False)
        verdict = "passed" if audit.passed else f"failed, severity {audit.report.severity}"
        console.print(f"report {audit.report.id}: {verdict}", markup=False)
        if not audit.stored:
            console.print(
                "[red]Not stored, and the gate could not be closed:[/red] this "
                "database lacks Governor's tables; run `governor db upgrade`."
            )
        if audit.closed_gate:
            console.print(f"[red]The gate is closed:[/red] agent tasks stop until "
                          f"`governor gate resume --ack {audit.report.id}`.")  # fmt: skip
    if not audit.passed:
        raise typer.Exit(1)


@audit_app.command("list")
def list_(
    limit: int = typer.Option(20, "--limit", min=1), as_json: bool = typer.Option(False, "--json")
) -> None:
    """Stored reports, newest first (also on a drifted database: they say what drifted)."""
    from governor.audits.service import list_reports
    from governor.storage.db import session_scope

    with session_scope(_reports_engine(), readonly=True) as session:
        rows = [{"id": r.id, "created_at": r.created_at.isoformat(), "severity": r.severity,
                 "passed": r.passed, "block_execution": r.block_execution, "origin": r.origin}
                for r in list_reports(session, limit=limit)]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    for row in rows:
        verdict = "passed" if row["passed"] else f"failed, severity {row['severity']}"
        blocked = ", blocked execution" if row["block_execution"] else ""
        console.print(f"{row['id']}  {row['created_at']}  {verdict}{blocked}", markup=False)
    if not rows:
        console.print("No report yet: run `governor audit run`.")


@fsar_app.command("show")
def show(
    report_id: str,
    format_: str = typer.Option("md", "--format", help="md (the seed's form) or json."),
) -> None:
    """One report, in the seed's Markdown form or as JSON (also on a drifted database)."""
    from governor.audits.fsar import render_markdown
    from governor.audits.service import get_report, to_report
    from governor.errors import BadInput
    from governor.storage.db import session_scope

    if format_ not in ("md", "json"):
        raise BadInput(f"--format {format_} is not known.", hint="Use --format md or json.")
    with session_scope(_reports_engine(), readonly=True) as session:
        report = to_report(get_report(session, report_id))
    if format_ == "json":
        print_json(report.to_dict())
    else:
        print(render_markdown(report))


@fsar_app.command("import")
def import_(path: Path) -> None:
    """Read a report in the seed's Markdown form (at most GOVERNOR_FSAR_MAX_BYTES) and store it."""
    from governor.audits.fsar import read_markdown_file
    from governor.audits.service import store
    from governor.cli.guarded import guarded_engine
    from governor.config import get_settings
    from governor.storage.db import session_scope

    report = read_markdown_file(path, max_bytes=get_settings().fsar_max_bytes)
    with session_scope(guarded_engine()) as session:
        store(session, report, origin="import", passed=report.severity == 0)
    console.print(f"Imported {report.id} (severity {report.severity}).", markup=False)
