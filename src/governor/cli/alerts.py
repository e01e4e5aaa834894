"""`governor alerts …`: list, acknowledge and resolve alerts, and test where they are sent."""

import getpass
from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from governor.cli.guarded import guarded_engine
from governor.cli.output import console, print_json

if TYPE_CHECKING:
    from governor.models import Alert

app = typer.Typer(
    help="List, acknowledge and resolve alerts; test where they are sent.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON only.")
ALERT_ID = typer.Argument(..., help="The alert's id (alert_…).")


class Status(StrEnum):
    """The statuses `alerts list` shows."""

    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"
    all = "all"


def alert_dict(alert: "Alert") -> dict[str, object]:
    """An alert as JSON: the table's columns under their names."""
    return {column.name: getattr(alert, column.key) for column in alert.__table__.columns}


@app.command("list")
def list_(
    status: Status = typer.Option(Status.open, "--status", help="Which alerts to show."),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = JSON,
) -> None:
    """Alerts in one status, most recently seen first."""
    from governor.alerts import service
    from governor.alerts.message import severity_word
    from governor.storage.db import session_scope

    chosen = None if status is Status.all else status.value
    with session_scope(guarded_engine(readonly=True), readonly=True) as session:
        alerts = service.list_alerts(session, status=chosen, limit=limit)
    if as_json:
        print_json([alert_dict(a) for a in alerts])
        return
    if not alerts:
        console.print(f"No {'' if chosen is None else chosen + ' '}alerts.")
    for a in alerts:
        told = "not notified" if a.notified_severity is None else "notified"
        if a.notified_severity not in (None, a.severity):
            told += f" at {a.notified_severity}"
        console.print(
            f"{a.id}  {severity_word(a.severity)} ({a.severity})  {a.status}  count {a.count}, "
            f"last seen {a.last_seen:%Y-%m-%d %H:%M} UTC, {told}\n  {a.kind}: {a.title}",
            markup=False,
        )


@app.command()
def ack(alert_id: str = ALERT_ID) -> None:
    """Acknowledge an alert: a person knows; it is sent again only if its severity grows."""
    from governor.alerts import service
    from governor.storage.db import session_scope

    with session_scope(guarded_engine()) as session:
        alert = service.acknowledge(session, alert_id, getpass.getuser())
        console.print(f"{alert.id}: {alert.status}")


@app.command()
def resolve(alert_id: str = ALERT_ID) -> None:
    """Resolve an alert; it opens again if it fires again."""
    from governor.alerts import service
    from governor.storage.db import session_scope

    with session_scope(guarded_engine()) as session:
        alert = service.resolve(session, alert_id, getpass.getuser())
        console.print(f"{alert.id}: {alert.status}")


@app.command()
def test(as_json: bool = JSON) -> None:
    """Send a test message to every destination; exit 1 if any of them failed."""
    from governor.alerts.delivery import send_test
    from governor.config import get_settings

    results = send_test(get_settings())
    if as_json:
        print_json([r.to_dict() for r in results])
    else:
        for r in results:
            attempts = f"{r.attempts} attempt{'s' if r.attempts != 1 else ''}"
            if r.delivered:
                console.print(f"[green]delivered[/green] {escape(r.destination)} ({attempts})")
            else:
                console.print(f"[red]failed[/red]    {escape(r.destination)} ({attempts}): "
                              f"{escape(r.error or '')}")  # fmt: skip
    if not all(r.delivered for r in results):
        raise typer.Exit(1)
