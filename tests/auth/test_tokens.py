"""API tokens: shown once, kept as SHA-256, checked, touched at most once a minute, revoked."""

import hashlib
import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from governor.auth import service
from governor.errors import BadInput, NotFound
from governor.models import ApiToken
from governor.models.types import utcnow
from governor.storage.db import session_scope

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _token(migrated, name="ci", user_id=None) -> tuple[ApiToken, str]:
    with session_scope(migrated) as session:
        return service.create_token(session, name=name, user_id=user_id)


def test_a_token_is_shown_once_and_stored_as_its_hash(migrated):
    token, plain = _token(migrated)
    assert re.fullmatch(r"gov_[A-Za-z0-9_-]{40}", plain)
    assert token.id.startswith("tok_") and token.user_id is None
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert token.prefix == plain[:8]
    with session_scope(migrated, readonly=True) as session:
        stored = session.get(ApiToken, token.id)
        values = [getattr(stored, column.key) for column in ApiToken.__table__.columns]
    assert not any(plain in str(value) for value in values)
    assert plain not in repr(stored)
    assert _token(migrated)[1] != plain


def test_verify_token_and_its_last_use(migrated):
    token, plain = _token(migrated)
    with session_scope(migrated) as session:
        assert service.verify_token(session, plain, touch=False).last_used_at is None
    with session_scope(migrated) as session:
        first = service.verify_token(session, plain).last_used_at
    assert first is not None
    with session_scope(migrated) as session:  # within a minute: nothing written
        assert service.verify_token(session, plain).last_used_at == first
    with session_scope(migrated) as session:
        session.get(ApiToken, token.id).last_used_at = first - timedelta(minutes=2)
    with session_scope(migrated) as session:
        found = service.verify_token(session, plain)
        assert found.last_used_at > first - timedelta(minutes=2)
        assert found.last_used_at >= first


@pytest.mark.parametrize(
    "text",
    ["", "gov_", "gov_short", "Bearer gov_x", "x" * 44, "gov_" + "A" * 40, "gov_" + "A" * 41],
)
def test_wrong_tokens_are_not_valid(migrated, text):
    _token(migrated)
    with session_scope(migrated, readonly=True) as session:
        assert service.verify_token(session, text, touch=False) is None


def test_a_revoked_token_is_not_valid(migrated):
    token, plain = _token(migrated)
    with session_scope(migrated) as session:
        revoked_at = service.revoke_token(session, token_id=token.id).revoked_at
    assert revoked_at is not None
    with session_scope(migrated) as session:
        assert service.verify_token(session, plain) is None
        assert service.revoke_token(session, token_id=token.id).revoked_at == revoked_at
    with session_scope(migrated) as session, pytest.raises(NotFound, match="tok_missing"):
        service.revoke_token(session, token_id="tok_missing")


def test_tokens_of_users_and_listing(migrated):
    with session_scope(migrated) as session:
        user = service.create_user(session, name="alice", password="long enough", hasher=FAST)
    mine, _ = _token(migrated, name="alice's laptop", user_id=user.id)
    other, _ = _token(migrated, name="ci")
    with session_scope(migrated) as session:
        service.revoke_token(session, token_id=other.id)
    assert mine.user_id == user.id
    with session_scope(migrated, readonly=True) as session:
        assert [t.id for t in service.list_tokens(session)] == [mine.id, other.id]
        assert [t.id for t in service.list_tokens(session, include_revoked=False)] == [mine.id]
    with session_scope(migrated) as session, pytest.raises(NotFound, match="user_missing"):
        service.create_token(session, name="x", user_id="user_missing")
    with session_scope(migrated) as session, pytest.raises(BadInput, match="token name is empty"):
        service.create_token(session, name=" ")


def test_touch_due():
    token = ApiToken(last_used_at=None)
    assert service.touch_due(token)
    token.last_used_at = utcnow() - timedelta(seconds=30)
    assert not service.touch_due(token)
    token.last_used_at = utcnow() - timedelta(seconds=61)
    assert service.touch_due(token)
