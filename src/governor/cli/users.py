"""`governor users …` and `governor tokens …`: who may sign in, and the API tokens of scripts."""

import sys
from typing import TYPE_CHECKING

import typer

from governor.cli.guarded import guarded_engine
from governor.cli.output import console, errors, print_json, print_table

if TYPE_CHECKING:
    from governor.models import ApiToken, User, UserSession

users_app = typer.Typer(
    help="Create and list the people who sign in, and their sessions.", no_args_is_help=True
)
tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON only.")
PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of stdin."
)


def _when(value: object) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else ""


def user_dict(user: "User") -> dict[str, object]:
    """A user as JSON: never the password hash."""
    return {"id": user.id, "name": user.name, "created_at": user.created_at,
            "last_login_at": user.last_login_at}  # fmt: skip


def session_dict(row: "UserSession") -> dict[str, object]:
    """A browser session as JSON: never its secret or the secret's hash."""
    return {"id": row.id, "created_at": row.created_at, "last_seen_at": row.last_seen_at,
            "expires_at": row.expires_at, "ip": row.ip, "user_agent": row.user_agent}  # fmt: skip


def token_dict(token: "ApiToken", user_names: dict[str, str]) -> dict[str, object]:
    """A token as JSON: its prefix, never the token or its hash."""
    return {"id": token.id, "name": token.name, "prefix": token.prefix,
            "user": user_names.get(token.user_id) if token.user_id else None,
            "created_at": token.created_at, "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at}  # fmt: skip


def _read_password(from_stdin: bool) -> str:
    from governor.errors import BadInput

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise BadInput(
            "No password given, and stdin is not a terminal to ask for one.",
            hint="Pipe it in with --password-stdin, e.g. "
            "`printf '%s\\n' \"$PASSWORD\" | governor users create NAME --password-stdin`.",
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def create_user(
    name: str = typer.Argument(..., help="The name to sign in with."),
    password_stdin: bool = PASSWORD_STDIN,
    as_json: bool = JSON,
) -> None:
    """Add a user; asks for the password twice (hidden) unless --password-stdin."""
    from governor.auth import service
    from governor.storage.db import session_scope

    engine = guarded_engine()
    password = _read_password(password_stdin)
    with session_scope(engine) as session:
        data = user_dict(service.create_user(session, name=name, password=password))
    if as_json:
        print_json(data)
    else:
        console.print(f"Created user {data['name']} ({data['id']}).", markup=False)


@users_app.command("set-password")
def set_password(
    name: str = typer.Argument(..., help="The user's name."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Give a user a new password; the user's open sessions end."""
    from governor.auth import service
    from governor.storage.db import session_scope

    engine = guarded_engine()
    with session_scope(engine, readonly=True) as session:
        user_id = service.find_user(session, name=name).id
    password = _read_password(password_stdin)
    with session_scope(engine) as session:
        service.set_password(session, user_id=user_id, password=password)
    console.print(f"New password set for {name}; its open sessions have ended.", markup=False)


@users_app.command("list")
def list_users(as_json: bool = JSON) -> None:
    """Every user, oldest first, with the last sign-in."""
    from rich.table import Table

    from governor.auth import service
    from governor.storage.db import session_scope

    with session_scope(guarded_engine(), readonly=True) as session:
        users = [user_dict(user) for user in service.list_users(session)]
    if as_json:
        print_json(users)
        return
    if not users:
        console.print("No users yet: create one with `governor users create NAME`.", markup=False)
        return
    table = Table("id", "name", "created_at", "last_login_at")
    for user in users:
        table.add_row(str(user["id"]), str(user["name"]), _when(user["created_at"]),
                      _when(user["last_login_at"]))  # fmt: skip
    print_table(table)


@users_app.command("sessions")
def list_sessions(
    name: str = typer.Argument(..., help="The user's name."), as_json: bool = JSON
) -> None:
    """The user's live browser sessions, most recently seen first."""
    from rich.table import Table

    from governor.auth import service, sessions
    from governor.storage.db import session_scope

    with session_scope(guarded_engine(), readonly=True) as session:
        user_id = service.find_user(session, name=name).id
        rows = [session_dict(row) for row in sessions.list_live(session, user_id=user_id)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"{name} has no live sessions.", markup=False)
        return
    table = Table("id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent")
    for row in rows:
        table.add_row(str(row["id"]), _when(row["created_at"]), _when(row["last_seen_at"]),
                      _when(row["expires_at"]), str(row["ip"] or ""),
                      str(row["user_agent"] or ""))  # fmt: skip
    print_table(table)


@users_app.command("revoke-sessions")
def revoke_sessions(
    name: str = typer.Argument(..., help="The user's name."),
    session_id: str | None = typer.Option(
        None, "--session", help="End only this session (sess_…); without it, all of them."
    ),
) -> None:
    """Sign a user out everywhere (or of one session): their cookies stop working at once."""
    from governor.auth import service, sessions
    from governor.storage.db import session_scope

    with session_scope(guarded_engine()) as session:
        user_id = service.find_user(session, name=name).id
        ended = sessions.end(session, user_id=user_id, session_id=session_id)
    what = f"session {session_id}" if session_id else f"{ended} session{'s' * (ended != 1)}"
    console.print(f"Ended {what} of {name}.", markup=False)


@tokens_app.command("create")
def create_token(
    name: str = typer.Argument(..., help="What the token is for, e.g. 'ci' or 'backup-script'."),
    user: str | None = typer.Option(None, "--user", help="The user the token acts for."),
    as_json: bool = JSON,
) -> None:
    """Make an API token and print it once: it cannot be shown again."""
    from governor.auth import service
    from governor.storage.db import session_scope

    with session_scope(guarded_engine()) as session:
        user_id = service.find_user(session, name=user).id if user is not None else None
        token, plain = service.create_token(session, name=name, user_id=user_id)
        data = token_dict(token, {user_id: user} if user_id and user else {})
    if as_json:
        print_json({**data, "token": plain})
        return
    print(plain)  # alone on stdout, so that TOKEN=$(governor tokens create NAME) works
    errors.print(
        f"Token {data['id']} ({name}) created. Store it now: it cannot be shown again. "
        "Send it as `Authorization: Bearer <token>`.",
        markup=False,
    )


@tokens_app.command("list")
def list_tokens(as_json: bool = JSON) -> None:
    """Every token with its prefix and last use; never the token itself."""
    from rich.table import Table

    from governor.auth import service
    from governor.storage.db import session_scope

    with session_scope(guarded_engine(), readonly=True) as session:
        names = {user.id: user.name for user in service.list_users(session)}
        tokens = [token_dict(token, names) for token in service.list_tokens(session)]
    if as_json:
        print_json(tokens)
        return
    if not tokens:
        console.print("No API tokens yet: create one with `governor tokens create NAME`.",
                      markup=False)  # fmt: skip
        return
    table = Table("id", "name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    for t in tokens:
        table.add_row(str(t["id"]), str(t["name"]), f"{t['prefix']}…", str(t["user"] or ""),
                      _when(t["created_at"]), _when(t["last_used_at"]),
                      _when(t["revoked_at"]))  # fmt: skip
    print_table(table)


@tokens_app.command("revoke")
def revoke_token(token_id: str = typer.Argument(..., help="The token's id (tok_…).")) -> None:
    """Revoke a token for good; requests with it are refused from now on."""
    from governor.auth import service
    from governor.storage.db import session_scope

    with session_scope(guarded_engine()) as session:
        token = service.revoke_token(session, token_id=token_id)
        revoked_at = _when(token.revoked_at)
    console.print(f"{token_id}: revoked ({revoked_at}).", markup=False)
