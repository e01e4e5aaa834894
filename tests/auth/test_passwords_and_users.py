"""Passwords are argon2 hashes; users are created, checked and re-keyed on both databases."""

import pytest
from argon2 import PasswordHasher

from governor.auth import passwords, service
from governor.errors import BadInput, NotFound
from governor.models import User
from governor.storage.db import session_scope

# Cheap parameters for tests only; Governor itself uses argon2-cffi's defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
FASTER_BUT_DIFFERENT = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"


def test_production_uses_argon2_cffis_defaults():
    defaults = PasswordHasher()
    assert (passwords.DEFAULT.time_cost, passwords.DEFAULT.memory_cost,
            passwords.DEFAULT.parallelism) == (defaults.time_cost, defaults.memory_cost,
                                               defaults.parallelism)  # fmt: skip


def test_hash_verify_and_rehash():
    stored = passwords.hash_password(PASSWORD, hasher=FAST)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert stored != passwords.hash_password(PASSWORD, hasher=FAST)  # salted
    assert passwords.verify_password(stored, PASSWORD, hasher=FAST)
    assert not passwords.verify_password(stored, PASSWORD + "!", hasher=FAST)
    assert not passwords.verify_password("not a hash", PASSWORD, hasher=FAST)
    assert not passwords.needs_rehash(stored, hasher=FAST)
    assert passwords.needs_rehash(stored, hasher=FASTER_BUT_DIFFERENT)
    assert passwords.needs_rehash("not a hash", hasher=FAST)
    dummy = passwords.dummy_hash(FAST)
    assert dummy == passwords.dummy_hash(FAST)
    assert not passwords.needs_rehash(dummy, hasher=FAST)


def test_create_user_and_has_users(migrated):
    with session_scope(migrated) as session:
        assert not service.has_users(session)
        user = service.create_user(session, name="  alice ", password=PASSWORD, hasher=FAST)
    assert user.id.startswith("user_") and user.name == "alice"
    with session_scope(migrated, readonly=True) as session:
        assert service.has_users(session)
        stored = service.get_user(session, user.id)
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash and stored.last_login_at is None
        assert stored.created_at.tzinfo is not None
        assert service.find_user(session, name="alice").id == user.id
        assert service.get_user(session, "user_missing") is None
        assert [u.name for u in service.list_users(session)] == ["alice"]
        with pytest.raises(NotFound, match="No user named 'bob'"):
            service.find_user(session, name="bob")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("", PASSWORD, "The user name is empty"),
        ("   ", PASSWORD, "The user name is empty"),
        ("x" * 101, PASSWORD, "at most 100"),
        ("tab\there", PASSWORD, "control or invisible characters"),
        ("bob", "short7!", "at least 8 characters"),
        ("bob", "", "at least 8 characters"),
    ],
)
def test_bad_names_and_short_passwords_are_refused(migrated, name, password, message):
    with session_scope(migrated) as session, pytest.raises(BadInput, match=message) as raised:
        service.create_user(session, name=name, password=password, hasher=FAST)
    if password:
        assert password not in raised.value.message + (raised.value.hint or "")


def test_a_taken_name_is_refused(migrated):
    with session_scope(migrated) as session:
        service.create_user(session, name="alice", password=PASSWORD, hasher=FAST)
    with session_scope(migrated) as session, pytest.raises(BadInput) as raised:
        service.create_user(session, name="alice", password="another password", hasher=FAST)
    assert "A user named 'alice' already exists" in raised.value.message
    assert "set-password" in (raised.value.hint or "")
    with session_scope(migrated, readonly=True) as session:
        assert len(service.list_users(session)) == 1


def _create(migrated, name="alice", password=PASSWORD, hasher=FAST) -> User:
    with session_scope(migrated) as session:
        return service.create_user(session, name=name, password=password, hasher=hasher)


def test_authenticate_checks_the_password_and_records_the_sign_in(migrated):
    created = _create(migrated)
    with session_scope(migrated) as session:
        assert (
            service.authenticate(session, name="alice", password="wrong pass", hasher=FAST) is None
        )
        assert service.authenticate(session, name="nobody", password=PASSWORD, hasher=FAST) is None
        assert service.authenticate(session, name="", password="", hasher=FAST) is None
    with session_scope(migrated, readonly=True) as session:
        assert service.get_user(session, created.id).last_login_at is None
    with session_scope(migrated) as session:
        user = service.authenticate(session, name=" alice", password=PASSWORD, hasher=FAST)
        assert user is not None and user.id == created.id
    with session_scope(migrated, readonly=True) as session:
        signed_in = service.get_user(session, created.id)
        assert signed_in.last_login_at is not None and signed_in.last_login_at.tzinfo is not None
        assert signed_in.password_hash == created.password_hash  # same parameters: kept


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(migrated):
    created = _create(migrated, hasher=FAST)
    with session_scope(migrated) as session:
        user = service.authenticate(
            session, name="alice", password=PASSWORD, hasher=FASTER_BUT_DIFFERENT
        )
        assert user is not None
    with session_scope(migrated, readonly=True) as session:
        rehashed = service.get_user(session, created.id).password_hash
    assert rehashed != created.password_hash and "t=2" in rehashed
    assert not passwords.needs_rehash(rehashed, hasher=FASTER_BUT_DIFFERENT)
    with session_scope(migrated) as session:
        again = service.authenticate(
            session, name="alice", password=PASSWORD, hasher=FASTER_BUT_DIFFERENT
        )
        assert again is not None


def test_set_password(migrated):
    created = _create(migrated)
    with session_scope(migrated) as session:
        service.set_password(session, user_id=created.id, password="a new passphrase", hasher=FAST)
    with session_scope(migrated) as session:
        assert service.authenticate(session, name="alice", password=PASSWORD, hasher=FAST) is None
        assert service.authenticate(session, name="alice", password="a new passphrase", hasher=FAST)
    with session_scope(migrated) as session, pytest.raises(BadInput, match="at least 8"):
        service.set_password(session, user_id=created.id, password="short", hasher=FAST)
    with session_scope(migrated) as session, pytest.raises(NotFound):
        service.set_password(session, user_id="user_missing", password=PASSWORD, hasher=FAST)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
        ("localhost", True), ("LOCALHOST", True), ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("10.0.0.1", False),
        ("example.com", False), ("localhost.example.com", False), ("", False),
    ],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert service.is_loopback(host) is loopback
