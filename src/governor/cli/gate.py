"""`governor gate …`: see, close and reopen the execution gate."""

import getpass
from typing import TYPE_CHECKING

import typer

from governor.cli.guarded import guarded_engine
from governor.cli.output import console, print_json

if TYPE_CHECKING:
    from governor.tasks.gate import GateState

app = typer.Typer(help="See, close and reopen the execution gate.", no_args_is_help=True)


def _show(state: "GateState", as_json: bool) -> None:
    data = state.to_dict()
    if as_json:
        print_json(data)
        return
    colour = "green" if state.open else "red"
    console.print(f"gate: [{colour}]{data['state']}[/{colour}]")
    for key in ("since", "actor", "reason", "report_id"):
        if data[key]:
            console.print(f"  {key}: {data[key]}", markup=False)


@app.command()
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Open or closed, since when, by whom, why and which report."""
    from governor.storage.db import session_scope
    from governor.tasks import gate

    with session_scope(guarded_engine(readonly=True), readonly=True) as session:
        _show(gate.status(session), as_json)


@app.command()
def pause(reason: str = typer.Option(..., "--reason", help="Why the agents must stop.")) -> None:
    """Close the gate: no new agent task starts; system tasks go on."""
    from governor.storage.db import session_scope
    from governor.tasks import gate

    with session_scope(guarded_engine()) as session:
        _show(gate.pause(session, reason=reason, actor=getpass.getuser()), False)


@app.command()
def resume(
    ack: str | None = typer.Option(None, "--ack", help="The report that closed the gate."),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Open the gate; acknowledge the report that closed it, if one did."""
    from governor.storage.db import session_scope
    from governor.tasks import gate

    with session_scope(guarded_engine()) as session:
        _show(gate.resume(session, actor=getpass.getuser(), ack=ack, reason=reason), False)
