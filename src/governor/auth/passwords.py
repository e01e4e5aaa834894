"""Password hashing with argon2id (argon2-cffi's PasswordHasher and its default parameters)."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEFAULT = PasswordHasher()
"""The hasher Governor uses; production keeps argon2-cffi's defaults (RFC 9106's low-memory set)."""

_dummies: dict[tuple[object, ...], str] = {}


def hash_password(password: str, *, hasher: PasswordHasher = DEFAULT) -> str:
    """The argon2 hash of a password, with its parameters and a random salt in the string."""
    return hasher.hash(password)


def verify_password(stored: str, password: str, *, hasher: PasswordHasher = DEFAULT) -> bool:
    """Whether the password matches the stored hash; False also for a malformed hash."""
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):  # mismatch, or not an argon2 hash at all
        return False


def needs_rehash(stored: str, *, hasher: PasswordHasher = DEFAULT) -> bool:
    """Whether the hash was made with other parameters than the hasher's (then hash again)."""
    try:
        return hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def dummy_hash(hasher: PasswordHasher = DEFAULT) -> str:
    """A hash of a random password with the hasher's parameters, made once per parameter set.

    Verifying against it when a name is unknown costs as much as a real check, so the time an
    answer takes does not tell whether the name exists.
    """
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len,
           hasher.salt_len, hasher.type)  # fmt: skip
    found = _dummies.get(key)
    if found is None:
        found = _dummies.setdefault(key, hasher.hash(secrets.token_urlsafe(32)))
    return found
