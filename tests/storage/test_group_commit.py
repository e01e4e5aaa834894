"""Group commit: one caller's bad item fails that caller alone; a database fault fails them all."""

from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from governor.errors import DatabaseUnwritable
from governor.models import StripeEvent
from governor.models.base import table_of
from governor.storage.db import session_scope
from governor.storage.group_commit import GroupCommit
from tests.support.read_only_db import make_read_only

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _row(n: int, *, bad: bool = False) -> dict[str, Any]:
    """A stripe_events row; a bad one has no type, which the table refuses (NOT NULL)."""
    return {"id": f"evt_{n}", "type": None if bad else "customer.created", "created": WHEN,
            "payload": {}, "origin": "webhook", "received_at": WHEN, "attempts": 0}  # fmt: skip


def _insert(session: Session, rows: Any) -> list[str]:
    session.execute(insert(table_of(StripeEvent)), list(rows))
    return [row["id"] for row in rows]


def _outcome(future: "Future[str]") -> str | BaseException:
    error = future.exception(timeout=30)
    return error if error is not None else future.result()


def test_a_bad_item_fails_its_caller_alone_and_every_other_item_is_written(
    migrated: Engine,
) -> None:
    commit = GroupCommit(migrated, _insert, linger=0.05)  # long enough to gather all at once
    bad = {3, 77, 150}
    futures = [commit.submit(_row(n, bad=n in bad)) for n in range(200)]
    outcomes = [_outcome(f) for f in futures]
    assert [n for n, o in enumerate(outcomes) if isinstance(o, IntegrityError)] == sorted(bad)
    assert [o for n, o in enumerate(outcomes) if n not in bad] == [
        f"evt_{n}" for n in range(200) if n not in bad
    ]
    with session_scope(migrated, readonly=True) as session:
        stored = set(session.scalars(select(StripeEvent.id)))
    assert stored == {f"evt_{n}" for n in range(200) if n not in bad}


def test_a_database_that_refuses_writes_fails_every_caller_with_the_reason(
    migrated: Engine,
) -> None:
    make_read_only(migrated)
    transactions = []
    event.listen(migrated, "begin", lambda connection: transactions.append(1))
    commit = GroupCommit(migrated, _insert, linger=0.05)
    futures = [commit.submit(_row(n)) for n in range(50)]
    for future in futures:
        with pytest.raises(DatabaseUnwritable):
            future.result(timeout=30)
    assert len(transactions) < 10  # not tried again item by item: no item is to blame (99)
