"""The `governor` command: global options, command groups, and errors printed without tracebacks."""

import sys
import traceback
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from governor import __version__
from governor.cli import (
    alerts,
    audit,
    business,
    db,
    demo,
    detect,
    funnel,
    gate,
    serve,
    stripe,
    tasks,
    users,
    worker,
)
from governor.cli.output import errors
from governor.errors import GovernorError

_state = {"debug": False}


class GovernorGroup(TyperGroup):
    """Turns a GovernorError into one clear line on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context has no public name
        try:
            return super().invoke(ctx)
        except GovernorError as error:
            if _state["debug"]:
                traceback.print_exc(file=sys.stderr)
            errors.print(f"[red]error:[/red] {escape(error.message)}")
            if error.hint:
                errors.print(f"[dim]hint:[/dim] {escape(error.hint)}")
            ctx.exit(error.exit_code)


app = typer.Typer(
    cls=GovernorGroup,
    help="Governor: the control plane of an autonomous AI business.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(audit.fsar_app, name="fsar")
app.add_typer(tasks.app, name="tasks")
app.add_typer(gate.app, name="gate")
app.add_typer(stripe.app, name="stripe")
app.add_typer(business.ideas, name="ideas")
app.add_typer(business.offers, name="offers")
app.add_typer(business.orders, name="orders")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(alerts.app, name="alerts")
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("demo")(demo.demo)
app.command("detect")(detect.detect)
app.command("funnel")(funnel.funnel)


def _version(value: bool) -> None:
    if value:
        print(f"governor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Governor: the control plane of an autonomous AI business."""
    _state["debug"] = debug


def main() -> int:
    """Entry point of the `governor` script."""
    return app() or 0
