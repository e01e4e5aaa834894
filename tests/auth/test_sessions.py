"""Browser sessions in the database: found while live, ended by time, logout or a new password."""

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from governor.auth import service, sessions
from governor.errors import NotFound
from governor.models import UserSession
from governor.models.types import utcnow
from governor.storage.db import session_scope

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def alice(migrated):
    with session_scope(migrated) as session:
        return service.create_user(session, name="alice", password="long enough", hasher=FAST)


def start(engine, user) -> tuple[str, str]:
    with session_scope(engine) as session:
        row, secret = sessions.start(session, user=user, ip="f" * 100, user_agent="x" * 500)
        return row.id, secret


def shift(engine, session_id: str, **ago: timedelta) -> None:
    """Move a session's times into the past, as if it were that old."""
    values = {column: utcnow() - delta for column, delta in ago.items()}
    with session_scope(engine) as session:
        session.execute(update(UserSession).where(UserSession.id == session_id).values(values))


def live(engine, secret: str) -> UserSession | None:
    with session_scope(engine, readonly=True) as session:
        found = sessions.find(session, secret)
        return found[0] if found else None


def test_a_session_is_found_by_its_secret_only(migrated, alice):
    session_id, secret = start(migrated, alice)
    found = live(migrated, secret)
    assert found is not None and found.id == session_id
    assert (found.user_agent, found.ip) == ("x" * 200, "f" * 64)  # cut to fit the columns
    assert found.secret_hash != secret and secret not in found.secret_hash
    assert live(migrated, "another" + secret) is None


def test_an_idle_session_expires_and_a_touch_slides_it(migrated, alice):
    session_id, secret = start(migrated, alice)
    shift(migrated, session_id, last_seen_at=timedelta(hours=11), expires_at=timedelta(hours=-1))
    row = live(migrated, secret)
    assert row is not None and sessions.touch_due(row)
    with session_scope(migrated) as session:
        sessions.touch(session, session_id=session_id)
    row = live(migrated, secret)
    assert row is not None and not sessions.touch_due(row)
    assert row.expires_at - utcnow() > timedelta(hours=11, minutes=59)
    shift(migrated, session_id, expires_at=timedelta(seconds=1))
    assert live(migrated, secret) is None


def test_ending_one_or_all_and_a_new_password(migrated, alice):
    first_id, first = start(migrated, alice)
    _, second = start(migrated, alice)
    _, third = start(migrated, alice)
    with session_scope(migrated) as session:
        assert sessions.end(session, user_id=alice.id, session_id=first_id) == 1
    assert live(migrated, first) is None and live(migrated, second) is not None
    with session_scope(migrated) as session, pytest.raises(NotFound):
        sessions.end(session, user_id=alice.id, session_id=first_id)
    with session_scope(migrated) as session:
        service.set_password(session, user_id=alice.id, password="a new passphrase", hasher=FAST)
    assert live(migrated, second) is None and live(migrated, third) is None


def test_long_ended_sessions_are_swept_at_the_next_sign_in(migrated, alice):
    old_id, _ = start(migrated, alice)
    recent_id, _ = start(migrated, alice)
    shift(migrated, old_id, expires_at=timedelta(days=31))
    shift(migrated, recent_id, expires_at=timedelta(days=1))
    start(migrated, alice)
    with session_scope(migrated, readonly=True) as session:
        assert session.get(UserSession, old_id) is None
        assert session.get(UserSession, recent_id) is not None
        assert len(sessions.list_live(session, user_id=alice.id)) == 1
