"""Browser sessions kept in the database: start, find, touch, list and end; services never commit.

The cookie carries a random secret; the row keeps its SHA-256, when it was last seen and when
it expires (12 h after that, sliding), so logout and a new password end a session at once.
"""

import secrets
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from governor.auth.digest import digest
from governor.errors import NotFound
from governor.ids import new_id
from governor.models import User, UserSession
from governor.models.types import utcnow

IDLE = timedelta(hours=12)
"""A session ends this long after it was last seen."""
TOUCH_EVERY = timedelta(minutes=1)
"""last_seen_at (and with it expires_at) moves at most this often, so not every request writes."""
KEEP_ENDED = timedelta(days=30)
"""Ended sessions stay listed in the table this long, then the user's next sign-in sweeps them."""
SECRET_BYTES = 32
MAX_USER_AGENT = 200
MAX_IP = 64  # the column's width; an IPv6 address takes at most 45


def start(
    session: Session, *, user: User, ip: str | None, user_agent: str | None
) -> tuple[UserSession, str]:
    """A new session for the user and its secret (for the cookie; only its hash is stored)."""
    now = utcnow()
    cutoff = now - KEEP_ENDED
    swept = or_(UserSession.expires_at < cutoff, UserSession.revoked_at < cutoff)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id, swept))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    row = UserSession(
        id=new_id("sess"),
        user_id=user.id,
        secret_hash=digest(secret),
        created_at=now,
        last_seen_at=now,
        expires_at=now + IDLE,
        ip=(ip or "")[:MAX_IP] or None,
        user_agent=(user_agent or "")[:MAX_USER_AGENT] or None,
    )
    session.add(row)
    session.flush()
    return row, secret


def _live() -> tuple[ColumnElement[bool], ...]:
    """What makes a session live: not ended, not expired."""
    return UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow()


def find(session: Session, secret: str) -> tuple[UserSession, User] | None:
    """The live (unrevoked, unexpired) session with this secret and its user, in one query."""
    found = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.secret_hash == digest(secret), *_live())
    ).first()
    return (found[0], found[1]) if found is not None else None


def touch_due(row: UserSession) -> bool:
    """Whether the session was last seen long enough ago to be moved on this use."""
    return utcnow() - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, *, session_id: str) -> None:
    """Mark the session seen now: its 12 hours start again (unless it ended meanwhile)."""
    now = utcnow()
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(last_seen_at=now, expires_at=now + IDLE)
    )


def list_live(session: Session, *, user_id: str) -> list[UserSession]:
    """The user's live sessions, most recently seen first."""
    return list(
        session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id, *_live())
            .order_by(UserSession.last_seen_at.desc(), UserSession.id)
        )
    )


def end(session: Session, *, user_id: str, session_id: str | None = None) -> int:
    """End one of the user's sessions (by id) or all of them; how many were live.

    NotFound when the id names no live session of this user.
    """
    query = update(UserSession).where(UserSession.user_id == user_id, *_live())
    if session_id is not None:
        query = query.where(UserSession.id == session_id)
    ended = len(session.execute(query.values(revoked_at=utcnow()).returning(UserSession.id)).all())
    if session_id is not None and not ended:
        raise NotFound(
            f"No live session {session_id} of this user.",
            hint="See `governor users sessions NAME` for the live ones.",
        )
    return ended
