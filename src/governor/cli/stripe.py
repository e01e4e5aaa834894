"""`governor stripe …`: sync from Stripe, import its report, reconcile, replay an event."""

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from governor.cli.guarded import guarded_engine
from governor.cli.output import console, print_json, print_table
from governor.cli.timeopts import parse_when

if TYPE_CHECKING:
    from governor.revenue.reconcile import Outcome

app = typer.Typer(help="Revenue from Stripe: sync, reports, reconciliation.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON only.")


@app.command()
def sync(
    since: str | None = typer.Option(
        None,
        "--since",
        help="From when (ISO date/time, UTC, or 7d). Default: where the "
        "last sync ended, or 30 days ago.",
    ),
    as_json: bool = JSON,
) -> None:
    """Pull events, objects and balance transactions from Stripe; resumes where it stopped."""
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

    from governor.config import get_settings
    from governor.revenue import service
    from governor.revenue import sync as stripe_sync
    from governor.revenue.stripe_api import close_client, stripe_client

    engine, settings = guarded_engine(), get_settings()
    start = parse_when(since) if since else None
    client = stripe_client(settings)  # ConfigError with a hint when no key is set
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console,
                      disable=as_json, transient=True) as bar:  # fmt: skip
            rows: dict[str, TaskID] = {}

            def show(resource: str, count: int) -> None:
                if resource not in rows:
                    rows[resource] = bar.add_task(resource)
                bar.update(rows[resource], description=f"{resource}: {count} stored")

            stored = stripe_sync.run(engine, client, since=start, progress=show)
    finally:
        close_client(client)
    handled = service.process_inbox(engine, settings)
    if as_json:
        print_json({"stored": stored, "events": handled.to_dict()})
        return
    for resource, count in stored.items():
        console.print(f"{resource}: {count} stored")
    console.print(f"events handled: {handled.handled}, failed: {handled.failed}")


@app.command("import-report")
def import_report(
    path: Path = typer.Argument(..., help="Stripe's 'Balance change from activity, itemized' CSV."),
    as_json: bool = JSON,
) -> None:
    """Store Stripe's balance transactions from its report, all rows or none."""
    from governor.revenue import service

    imported = service.import_report(guarded_engine(), path)
    data = {"rows": imported.rows, "currencies": imported.currencies,
            "first": imported.first, "last": imported.last}  # fmt: skip
    if as_json:
        print_json(data)
        return
    console.print(
        f"imported {imported.rows} balance transactions ({', '.join(imported.currencies)}) "
        f"from {imported.first} to {imported.last}",
        markup=False,
    )


@app.command()
def reconcile(
    since: str | None = typer.Option(None, "--since", help="Start (ISO date/time, UTC; 30d ago)."),
    until: str | None = typer.Option(None, "--until", help="End, exclusive (default: now)."),
    report: Path | None = typer.Option(None, "--report", help="Compare with this report CSV."),
    as_json: bool = JSON,
) -> None:
    """Compare the ledger with Stripe; exit 1 when anything disagrees."""
    from governor.config import get_settings
    from governor.models.types import utcnow
    from governor.revenue import service
    from governor.revenue.reconcile import Window

    engine = guarded_engine()
    end = parse_when(until, "--until") if until else utcnow()
    start = parse_when(since) if since else end - timedelta(days=30)
    outcome = service.reconcile_window(engine, get_settings(), Window(start, end),
                                       report_path=report)  # fmt: skip
    if as_json:
        print_json(outcome.to_dict())
    else:
        _show(outcome)
    if outcome.discrepancies:
        raise typer.Exit(1)


def _show(outcome: "Outcome") -> None:
    from rich.table import Table

    window = outcome.window
    console.print(f"reconciled {window.start.isoformat()} to {window.end.isoformat()} against "
                  f"{outcome.origin}: {outcome.counts['stripe_transactions']} Stripe "
                  f"transactions, {outcome.counts['ledger_entries']} ledger entries",
                  markup=False)  # fmt: skip
    if not outcome.discrepancies:
        console.print("[green]clean[/green]: the ledger matches Stripe")
        return
    table = Table("kind", "stripe id", "expected", "actual", "currency")
    for item in outcome.discrepancies:
        table.add_row(item.kind, item.stripe_id, str(item.expected), str(item.actual),
                      item.currency or "")  # fmt: skip
    print_table(table)
    console.print(f"[red]{len(outcome.discrepancies)} discrepancies[/red] (run {outcome.run_id})")


@app.command()
def replay(event_id: str = typer.Argument(..., help="The event's id (evt_…).")) -> None:
    """Handle one stored event again now (after fixing what made it fail)."""
    from governor.config import get_settings
    from governor.revenue import service

    event = service.replay(guarded_engine(), get_settings(), event_id)
    if event.handled_at is None:
        console.print(f"[red]{event.id} failed again[/red]: {event.error}", markup=False)
        raise typer.Exit(1)
    console.print(f"{event.id} ({event.type}) handled at {event.handled_at.isoformat()}")


@app.command()
def status(as_json: bool = JSON) -> None:
    """The inbox (handled, waiting, given up), the sync checkpoints, the last reconciliation."""
    from governor.revenue import service
    from governor.storage.db import session_scope

    with session_scope(guarded_engine(), readonly=True) as session:
        data = service.status(session)
    if as_json:
        print_json(data)
        return
    events = data["events"]
    console.print(f"events: {events['handled']} handled, {events['waiting']} waiting, "
                  f"{events['given_up']} given up")  # fmt: skip
    for point in data["sync"]:
        state = "done" if point["done"] else f"stopped after {point['cursor']}"
        console.print(f"sync {point['resource']}: {point['window_start']} to "
                      f"{point['window_end']} ({state})", markup=False)  # fmt: skip
    last = data["last_reconciliation"]
    if last is None:
        console.print("no reconciliation yet")
    else:
        console.print(f"last reconciliation {last['id']}: {last['status']}, "
                      f"{last['counts']['discrepancies']} discrepancies", markup=False)  # fmt: skip
