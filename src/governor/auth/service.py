"""Users, their passwords and API tokens: create, check, list and revoke; services never commit."""

import ipaddress
import secrets
import unicodedata
from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from governor.auth import passwords, sessions
from governor.auth.digest import digest
from governor.errors import BadInput, NotFound
from governor.ids import new_id
from governor.models import ApiToken, User
from governor.models.types import utcnow

MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = 100
TOKEN_PREFIX = "gov_"
TOKEN_RANDOM_BYTES = 30  # 40 url-safe characters
TOKEN_LENGTH = len(TOKEN_PREFIX) + 40
TOUCH_EVERY = timedelta(minutes=1)
"""A token's last_used_at moves at most this often, so that not every request writes."""


def _clean_name(name: str, *, what: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise BadInput(f"The {what} name is empty.", hint=f"Give the {what} a name, e.g. 'alice'.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise BadInput(
            f"The {what} name is {len(cleaned)} characters long; at most "
            f"{MAX_NAME_LENGTH} are allowed.",
            hint="Choose a shorter name.",
        )
    if any(unicodedata.category(char).startswith("C") for char in cleaned):
        raise BadInput(
            f"The {what} name contains control or invisible characters.",
            hint="Use letters, digits, spaces and punctuation only.",
        )
    return cleaned


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(
            f"The password is too short: it needs at least {MIN_PASSWORD_LENGTH} characters.",
            hint="Choose a longer password; a passphrase of a few words is easy to remember.",
        )


def create_user(
    session: Session,
    *,
    name: str,
    password: str,
    hasher: PasswordHasher = passwords.DEFAULT,
) -> User:
    """Add a user with an argon2 hash of the password; BadInput for a bad or taken name."""
    name = _clean_name(name, what="user")
    _check_password(password)
    taken = BadInput(
        f"A user named '{name}' already exists.",
        hint="Choose another name, or change that user's password with "
        "`governor users set-password`.",
    )
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise taken
    user = User(id=new_id("user"), name=name, created_at=utcnow(),
                password_hash=passwords.hash_password(password, hasher=hasher))  # fmt: skip
    try:
        with session.begin_nested():  # another writer may take the name meanwhile
            session.add(user)
    except IntegrityError:
        raise taken from None
    return user


def has_users(session: Session) -> bool:
    """Whether anyone can sign in yet."""
    return session.scalar(select(User.id).limit(1)) is not None


def get_user(session: Session, user_id: str) -> User | None:
    """The user with this id, or None when there is none (any more)."""
    return session.get(User, user_id)


def find_user(session: Session, *, name: str) -> User:
    """The user with this name; NotFound otherwise."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise NotFound(f"No user named '{name}'.", hint="See `governor users list`.")
    return user


def list_users(session: Session) -> list[User]:
    """Every user, oldest first."""
    return list(session.scalars(select(User).order_by(User.created_at, User.id)))


def authenticate(
    session: Session,
    *,
    name: str,
    password: str,
    hasher: PasswordHasher = passwords.DEFAULT,
) -> User | None:
    """The user when name and password match, else None; records the sign-in.

    An unknown name costs an argon2 verification too, so timing does not reveal which names
    exist. A hash made with older parameters is replaced by one with the current ones.
    """
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        passwords.verify_password(passwords.dummy_hash(hasher), password, hasher=hasher)
        return None
    if not passwords.verify_password(user.password_hash, password, hasher=hasher):
        return None
    if passwords.needs_rehash(user.password_hash, hasher=hasher):
        user.password_hash = passwords.hash_password(password, hasher=hasher)
    user.last_login_at = utcnow()
    return user


def set_password(
    session: Session,
    *,
    user_id: str,
    password: str,
    hasher: PasswordHasher = passwords.DEFAULT,
) -> User:
    """Give a user a new password and end all the user's sessions."""
    _check_password(password)
    user = get_user(session, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.", hint="See `governor users list`.")
    user.password_hash = passwords.hash_password(password, hasher=hasher)
    sessions.end(session, user_id=user.id)
    return user


def create_token(
    session: Session, *, name: str, user_id: str | None = None
) -> tuple[ApiToken, str]:
    """A new API token and its plain text, which is returned this once and never stored."""
    name = _clean_name(name, what="token")
    if user_id is not None and get_user(session, user_id) is None:
        raise NotFound(f"No user with id {user_id}.", hint="See `governor users list`.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)
    token = ApiToken(id=new_id("tok"), name=name, user_id=user_id, token_hash=digest(plain),
                     prefix=plain[:8], created_at=utcnow())  # fmt: skip
    session.add(token)
    session.flush()
    return token, plain


def verify_token(session: Session, token: str, *, touch: bool = True) -> ApiToken | None:
    """The unrevoked token with this text, or None.

    With `touch`, its last_used_at moves when it is older than a minute; without, nothing is
    written (see `touch_due`), so a read-only unit of work can check a token.
    """
    if len(token) != TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return None
    found = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if found is None or found.revoked_at is not None:
        return None
    if touch and touch_due(found):
        found.last_used_at = utcnow()
    return found


def touch_due(token: ApiToken) -> bool:
    """Whether the token's last_used_at is old enough to be moved on this use."""
    return token.last_used_at is None or utcnow() - token.last_used_at >= TOUCH_EVERY


def revoke_token(session: Session, *, token_id: str) -> ApiToken:
    """Revoke a token for good (again is harmless); NotFound for an unknown id."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No API token with id {token_id}.", hint="See `governor tokens list`.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def list_tokens(session: Session, *, include_revoked: bool = True) -> list[ApiToken]:
    """API tokens, oldest first (their hashes are in the rows; never show them)."""
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def is_loopback(host: str) -> bool:
    """Whether a bind address only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    cleaned = host.strip().removeprefix("[").removesuffix("]").lower()
    if cleaned in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(cleaned)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
