"""Transaction-scoped locks on names: PostgreSQL advisory locks (SQLite's write lock serialises)."""

import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

_LOCK = text(
    "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(:keys) AS k ORDER BY k) AS wanted"
).bindparams(bindparam("keys", type_=ARRAY(BIGINT)))


def key_of(namespace: str, name: str) -> int:
    """A signed 64-bit lock key for one name in a namespace."""
    digest = hashlib.sha256(f"{namespace}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_names(session: Session, namespace: str, names: Iterable[str]) -> None:
    """Hold a lock on each name until the transaction ends, taken in one order (no deadlock
    between two holders); a no-op on SQLite, whose writers already run one at a time."""
    keys = sorted({key_of(namespace, name) for name in names})
    if keys and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"keys": keys})
