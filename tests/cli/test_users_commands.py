"""`governor users …` and `governor tokens …` as a user types them."""

import json
import re

from governor.auth import sessions
from governor.auth.service import find_user, verify_token
from governor.cli.main import app
from governor.config import get_settings
from governor.storage.db import session_scope

PASSWORD = "correct horse battery"


def with_stdin(cli, *args: str, stdin: str):  # type: ignore[no-untyped-def]
    """Run `governor …` with text on stdin (the cli fixture gives none)."""
    get_settings.cache_clear()
    return cli.runner.invoke(app, list(args), input=stdin)


def test_create_and_list_users(migrated, cli):
    created = with_stdin(cli, "users", "create", "alice", "--password-stdin", "--json",
                         stdin=PASSWORD + "\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    user = json.loads(created.stdout)
    assert user["name"] == "alice" and user["id"].startswith("user_")
    assert PASSWORD not in created.output
    plain = with_stdin(cli, "users", "create", "bob", "--password-stdin", stdin=PASSWORD + "\r\n")
    assert plain.exit_code == 0 and "Created user bob" in plain.stdout
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [u["name"] for u in listed] == ["alice", "bob"]
    assert all(set(u) == {"id", "name", "created_at", "last_login_at"} for u in listed)
    table = cli("users", "list")
    assert "alice" in table.stdout and "password" not in table.stdout.lower()


def test_create_user_refuses_bad_input_with_exit_2(migrated, cli):
    short = with_stdin(cli, "users", "create", "alice", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr
    assert "short" not in short.stderr.replace("too short", "")
    with_stdin(cli, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    taken = with_stdin(cli, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert taken.exit_code == 2 and "A user named 'alice' already exists" in taken.stderr
    no_tty = cli("users", "create", "carol")  # stdin is not a terminal and no flag was given
    assert no_tty.exit_code == 2 and "--password-stdin" in no_tty.stderr
    assert "Traceback" not in no_tty.stderr


def test_set_password(migrated, cli):
    with_stdin(cli, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    changed = with_stdin(cli, "users", "set-password", "alice", "--password-stdin",
                         stdin="another passphrase\n")  # fmt: skip
    assert changed.exit_code == 0 and "sessions have ended" in changed.stdout
    missing = with_stdin(cli, "users", "set-password", "zed", "--password-stdin", stdin="x\n")
    assert missing.exit_code == 2 and "No user named 'zed'" in missing.stderr


def test_tokens_create_list_revoke(migrated, cli):
    with_stdin(cli, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    created = cli("tokens", "create", "ci", "--user", "alice")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert re.fullmatch(r"gov_[A-Za-z0-9_-]{40}", token)  # alone on stdout, for $(…)
    assert "cannot be shown again" in created.stderr
    as_json = json.loads(cli("tokens", "create", "backup", "--json").stdout)
    assert as_json["token"].startswith("gov_") and as_json["user"] is None
    listed = json.loads(cli("tokens", "list", "--json").stdout)
    assert [(t["name"], t["user"], t["prefix"]) for t in listed] == [
        ("ci", "alice", token[:8]), ("backup", None, as_json["token"][:8])]  # fmt: skip
    everything = cli("tokens", "list").stdout + cli("tokens", "list", "--json").stdout
    assert token not in everything and as_json["token"] not in everything
    token_id = listed[0]["id"]
    revoked = cli("tokens", "revoke", token_id)
    assert revoked.exit_code == 0 and f"{token_id}: revoked" in revoked.stdout
    assert json.loads(cli("tokens", "list", "--json").stdout)[0]["revoked_at"] is not None
    with session_scope(migrated, readonly=True) as session:
        assert verify_token(session, token, touch=False) is None
        assert verify_token(session, as_json["token"], touch=False) is not None
    unknown = cli("tokens", "revoke", "tok_nope")
    assert unknown.exit_code == 2 and "No API token with id tok_nope" in unknown.stderr
    nobody = cli("tokens", "create", "x", "--user", "zed")
    assert nobody.exit_code == 2 and "No user named 'zed'" in nobody.stderr


def test_user_and_token_commands_refuse_a_drifted_schema(engine, cli):
    cli("db", "upgrade", "0001")
    for args in (["users", "list"], ["tokens", "list"], ["tokens", "create", "ci"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert "behind this Governor's" in result.stderr


def _signed_in(name: str, agent: str) -> str:
    """Start a browser session of the user as `POST /login` does; its secret."""
    with session_scope() as session:
        user = find_user(session, name=name)
        return sessions.start(session, user=user, ip="10.0.0.7", user_agent=agent)[1]


def _live(secret: str) -> bool:
    with session_scope(readonly=True) as session:
        return sessions.find(session, secret) is not None


def test_list_and_revoke_a_users_sessions(migrated, cli):
    with_stdin(cli, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    with_stdin(cli, "users", "create", "bob", "--password-stdin", stdin=PASSWORD + "\n")
    laptop, phone = _signed_in("alice", "Firefox"), _signed_in("alice", "Safari")
    bobs = _signed_in("bob", "Chrome")
    assert cli("users", "sessions", "carol").exit_code == 2
    listed = json.loads(cli("users", "sessions", "alice", "--json").stdout)
    assert sorted(s["user_agent"] for s in listed) == ["Firefox", "Safari"]
    assert all(s["ip"] == "10.0.0.7" and s["id"].startswith("sess_") for s in listed)
    table = cli("users", "sessions", "alice").stdout
    assert "Firefox" in table and laptop not in table and phone not in table
    safari = next(s["id"] for s in listed if s["user_agent"] == "Safari")
    one = cli("users", "revoke-sessions", "alice", "--session", safari)
    assert one.exit_code == 0 and f"Ended session {safari} of alice." in one.stdout
    assert _live(laptop) and not _live(phone)
    again = cli("users", "revoke-sessions", "alice", "--session", safari)
    assert again.exit_code == 2 and f"No live session {safari}" in again.stderr
    bobs_id = json.loads(cli("users", "sessions", "bob", "--json").stdout)[0]["id"]
    assert cli("users", "revoke-sessions", "alice", "--session", bobs_id).exit_code == 2
    everything = cli("users", "revoke-sessions", "alice")
    assert everything.exit_code == 0 and "Ended 1 session of alice." in everything.stdout
    assert not _live(laptop) and _live(bobs)
    assert "alice has no live sessions." in cli("users", "sessions", "alice").stdout


def test_set_password_ends_the_users_sessions(migrated, cli):
    with_stdin(cli, "users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    secret = _signed_in("alice", "Firefox")
    with_stdin(cli, "users", "set-password", "alice", "--password-stdin",
               stdin="another passphrase\n")  # fmt: skip
    assert not _live(secret)
    assert json.loads(cli("users", "sessions", "alice", "--json").stdout) == []
