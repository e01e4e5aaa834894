"""Session cookies made the way `POST /login` makes them, signed at a chosen age."""

import time

from sqlalchemy.engine import Engine

from governor.auth import sessions
from governor.auth.secret import signing_key
from governor.config import get_settings
from governor.models import User
from governor.storage.db import session_scope
from governor.web.auth import SessionCodec


def session_cookie(
    engine: Engine, user: User, *, age: float = 0, key: str | None = None, csrf: str = "csrf"
) -> str:
    """A new live session of the user, as a cookie value signed `age` seconds ago."""
    with session_scope(engine) as session:
        _, secret = sessions.start(session, user=user, ip="127.0.0.1", user_agent="tests")
    codec = SessionCodec(key or signing_key(get_settings()), clock=lambda: time.time() - age)
    return codec.dump(secret, csrf)
