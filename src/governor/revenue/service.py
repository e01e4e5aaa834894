"""Revenue's operations as the CLI and the system tasks run them: process, replay, import,
reconcile (each opens its own units of work; the domain modules below take a Session)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import stripe
from sqlalchemy import exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.errors import BadInput
from governor.models import (
    ReconciliationRun,
    StripeBalanceTransaction,
    StripeEvent,
    StripeSyncCheckpoint,
)
from governor.revenue import inbox, ledger, process, reconcile, report
from governor.revenue.stripe_api import close_client, is_configured, iter_list, retrieve
from governor.revenue.sync import record_payout_members
from governor.revenue.translate import BalanceFact, balance_fact
from governor.storage.db import refresh_statistics, session_scope

MARGIN = timedelta(days=1)
"""Stripe data fetched around a window, so entries near its edges find their counterparts."""


@contextmanager
def stripe_api(settings: Settings) -> Iterator[stripe.StripeClient | None]:
    """A Stripe client when an API key is configured, else None (webhooks and reports only)."""
    if not is_configured(settings):
        yield None
        return
    from governor.revenue.stripe_api import stripe_client

    client = stripe_client(settings)
    try:
        yield client
    finally:
        close_client(client)


def process_inbox(engine: Engine, settings: Settings) -> process.Handled:
    """Handle every due event in the inbox, fetching the fees they point at when possible."""
    with stripe_api(settings) as client:
        fetch = None if client is None else _fetcher(client)
        return process.drain(engine, fetch)


def _fetcher(client: stripe.StripeClient) -> process.FetchTxn:
    return lambda txn_id: retrieve(client, "balance_transactions", txn_id)


def replay(engine: Engine, settings: Settings, event_id: str) -> StripeEvent:
    """Handle one event again now; the event as it stands afterwards (error if it failed)."""
    with session_scope(engine) as session:
        inbox.replay(session, event_id)
    process_inbox(engine, settings)
    with session_scope(engine, readonly=True) as session:
        event = session.get(StripeEvent, event_id)
        assert event is not None
        session.expunge(event)
        return event


@dataclass(frozen=True)
class Imported:
    """What a report import stored: rows, the period they span, their currencies."""

    rows: int
    first: datetime | None
    last: datetime | None
    currencies: list[str]
    payouts: bool


def import_report(engine: Engine, path: Path) -> Imported:
    """Store a report's balance transactions (all rows, or none when one is bad)."""
    rows = report.parse_report(path)
    facts = [report_fact(row) for row in rows]
    with session_scope(engine) as session:
        ledger.record_balance(session, facts, origin="report")
    created = [fact.created for fact in facts]
    return Imported(len(facts), min(created, default=None), max(created, default=None),
                    sorted({fact.currency for fact in facts}),
                    any(fact.ledger_kind == "payout" for fact in facts))  # fmt: skip


def report_fact(row: report.ReportRow) -> BalanceFact:
    """A report row as a balance fact (the report has no type, only the reporting category)."""
    return BalanceFact(
        id=row.id, reporting_category=row.reporting_category, source_id=row.source_id,
        amount_minor=row.amount_minor, fee_minor=row.fee_minor, net_minor=row.net_minor,
        currency=row.currency, created=row.created, available_on=row.available_on,
        payout_id=row.payout_id, description=row.description,
    )  # fmt: skip


def reconcile_window(
    engine: Engine,
    settings: Settings,
    window: reconcile.Window,
    *,
    report_path: Path | None = None,
    task_id: str | None = None,
) -> reconcile.Outcome:
    """Compare the ledger with Stripe over the window: from a report, the API, or what is stored.

    BadInput when Governor has nothing of Stripe's for the window to compare with.
    """
    if window.start >= window.end:
        raise BadInput(
            f"The window is empty: --since {window.start.isoformat()} is not before "
            f"--until {window.end.isoformat()}.", hint="Give an earlier --since or a later --until."
        )  # fmt: skip
    unseen: tuple[str, ...] = ()
    if report_path is not None:
        if not import_report(engine, report_path).payouts:
            # "Balance change from activity" leaves payouts out: they are not judged by it.
            unseen = ("payout", "payout_failure")
        origin = f"report:{report_path.name}"
    else:
        with stripe_api(settings) as client:
            if client is not None:
                refresh_balance(engine, client, window)
        origin = "api" if client is not None else "stored"
    with session_scope(engine) as session:
        refresh_statistics(session)
        if origin == "stored" and not _has_stripe_data(session, window):
            raise BadInput(
                f"Nothing of Stripe's is stored for {window.start:%Y-%m-%d %H:%M} to "
                f"{window.end:%Y-%m-%d %H:%M} to compare with.",
                hint="Set GOVERNOR_STRIPE_API_KEY (a read-only key is enough), or give Stripe's "
                "itemized balance report: governor stripe reconcile --report FILE.csv",
            )  # fmt: skip
        return reconcile.record(session, window, origin, task_id=task_id, unseen=unseen)


def _has_stripe_data(session: Session, window: reconcile.Window) -> bool:
    T = StripeBalanceTransaction
    query = select(exists().where(T.created >= window.start, T.created < window.end))
    return bool(session.scalar(query))


def refresh_balance(engine: Engine, client: stripe.StripeClient, window: reconcile.Window) -> int:
    """Fetch Stripe's balance transactions around the window, and which payout carried each."""
    start, end = window.start - MARGIN, window.end + MARGIN
    txns = iter_list(client, "balance_transactions", created_gte=int(start.timestamp()),
                     created_lt=int(end.timestamp()))  # fmt: skip
    facts = [balance_fact(t) for t in txns]
    with session_scope(engine) as session:
        ledger.record_balance(session, facts, origin="api")
        for fact in facts:
            if fact.ledger_kind == "payout" and fact.source_id:
                record_payout_members(session, client, fact.source_id)
    return len(facts)


def status(session: Session) -> dict[str, Any]:
    """The inbox's counts, each sync checkpoint, and the last reconciliation run."""
    checkpoints = session.scalars(
        select(StripeSyncCheckpoint).order_by(StripeSyncCheckpoint.resource)
    )
    last = session.scalar(select(ReconciliationRun).order_by(ReconciliationRun.started_at.desc()))
    return {
        "events": inbox.counts(session),
        "sync": [{"resource": c.resource, "window_start": c.window_start,
                  "window_end": c.window_end, "cursor": c.cursor, "done": c.done}
                 for c in checkpoints],
        "last_reconciliation": None if last is None else {
            "id": last.id, "status": last.status, "window_start": last.window_start,
            "window_end": last.window_end, "origin": last.origin, "counts": last.counts},
    }  # fmt: skip
