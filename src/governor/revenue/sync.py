"""`stripe sync`: events of the last 30 days into the inbox, older objects and every balance
transaction straight into the ledger; page by page, each page committed with its checkpoint."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.models import StripeSyncCheckpoint
from governor.models.types import utcnow
from governor.revenue import checkout, inbox, ledger
from governor.revenue.stripe_api import iter_list
from governor.revenue.translate import balance_fact, entry_facts
from governor.storage.db import session_scope

EVENT_RETENTION = timedelta(days=30)
"""Stripe lists events of the last 30 days only; older history comes from the objects."""

OBJECTS = ("charges", "refunds", "disputes", "payouts", "checkout.sessions")
"""Listed for what lies before the events' 30 days; sessions last, so their charges are in."""
PAGE = 100

Progress = Callable[[str, int], None]
"""Told each resource's name and how many objects were stored so far."""


@dataclass(frozen=True)
class Step:
    """One list to walk: a Stripe resource over [start, end)."""

    resource: str
    start: datetime
    end: datetime


def plan(since: datetime, now: datetime) -> list[Step]:
    """Events for what they still cover; objects for what lies before; all balance changes."""
    events_from = max(since, now - EVENT_RETENTION)
    steps = [Step("events", events_from, now)]
    if since < events_from:
        steps += [Step(resource, since, events_from) for resource in OBJECTS]
    steps.append(Step("balance_transactions", since, now))
    return steps


def default_since(session: Session, now: datetime) -> datetime:
    """Where an unfinished sync started, else where the last one ended (a little before, for
    late writes), else 30 days ago."""
    C = StripeSyncCheckpoint
    unfinished = session.scalar(select(func.min(C.window_start)).where(C.done.is_(False)))
    if unfinished is not None:
        return unfinished
    done = session.get(C, "balance_transactions")
    if done is not None and done.done:
        return done.window_end - timedelta(hours=1)
    return now - EVENT_RETENTION


def run(
    engine: Engine,
    client: stripe.StripeClient,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Walk every step, resuming an unfinished one from its checkpoint; counts per resource."""
    now = utcnow()
    with session_scope(engine, readonly=True) as session:
        start = since if since is not None else default_since(session, now)
    stored: dict[str, int] = {}
    for step in plan(start, now):
        stored[step.resource] = _walk(engine, client, _resume(engine, step), progress)
    return stored


def _resume(engine: Engine, step: Step) -> tuple[Step, str | None]:
    """The step as its unfinished checkpoint left it, or the step afresh."""
    with session_scope(engine) as session:
        point = session.get(StripeSyncCheckpoint, step.resource)
        if point is not None and not point.done and point.cursor is not None:
            return Step(step.resource, point.window_start, point.window_end), point.cursor
        if point is None:
            point = StripeSyncCheckpoint(resource=step.resource)
            session.add(point)
        point.window_start, point.window_end = step.start, step.end
        point.cursor, point.done, point.updated_at = None, False, utcnow()
        return step, None


def _walk(
    engine: Engine, client: stripe.StripeClient, resumed: tuple[Step, str | None],
    progress: Progress | None,
) -> int:  # fmt: skip
    step, cursor = resumed
    params: dict[str, Any] = {"starting_after": cursor} if cursor else {}
    items = iter_list(client, step.resource, created_gte=int(step.start.timestamp()),
                      created_lt=int(step.end.timestamp()), limit=PAGE, **params)  # fmt: skip
    count = 0
    for page in _chunks(items, PAGE):
        with session_scope(engine) as session:
            _store(session, client, step.resource, page)
            point = session.get(StripeSyncCheckpoint, step.resource)
            assert point is not None  # written by _resume
            point.cursor, point.updated_at = page[-1]["id"], utcnow()
        count += len(page)
        if progress is not None:
            progress(step.resource, count)
    with session_scope(engine) as session:
        point = session.get(StripeSyncCheckpoint, step.resource)
        assert point is not None
        point.done, point.cursor, point.updated_at = True, None, utcnow()
    return count


def _store(
    session: Session, client: stripe.StripeClient, resource: str, page: list[dict[str, Any]]
) -> None:
    if resource == "events":
        inbox.store(session, page, origin="sync")
    elif resource == "balance_transactions":
        ledger.record_balance(session, [balance_fact(t) for t in page], origin="api")
        for txn in page:
            if txn.get("type") == "payout":
                record_payout_members(session, client, txn["source"])
    elif resource == "checkout.sessions":
        checkout.record_objects(session, page, at=utcnow())
    else:  # the object as it is now: newer than any event created before this moment
        now = utcnow()
        for obj in page:
            ledger.record_all(session, entry_facts(obj), watermark=now, event_id=None)


def record_payout_members(session: Session, client: stripe.StripeClient, payout: Any) -> None:
    """Mark which balance transactions a payout carried (Stripe's `payout` list filter)."""
    payout_id = payout["id"] if isinstance(payout, dict) else str(payout)
    members = iter_list(client, "balance_transactions", payout=payout_id, limit=PAGE)
    facts = [balance_fact(t, payout_id=payout_id) for t in members]
    ledger.record_balance(session, facts, origin="api")


def _chunks(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for item in items:
        page.append(item)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
