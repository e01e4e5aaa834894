"""Handling Stripe events: the ledger facts they state, the fees they point at, their alerts."""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.alerts.service import raise_alert
from governor.models import StripeBalanceTransaction
from governor.revenue import checkout, checkout_orders, inbox, ledger, pressure
from governor.revenue.currency import format_minor
from governor.revenue.orders import sync_orders_after_events
from governor.revenue.translate import (
    balance_fact,
    balance_facts,
    entry_facts,
    object_id,
    timestamp,
)
from governor.storage.db import session_scope
from governor.storage.keylock import lock_names

log = logging.getLogger(__name__)

FetchTxn = Callable[[str], dict[str, Any]]
"""Retrieves one balance transaction from Stripe by id (txn_…)."""

BATCH = 200
PER_TRANSACTION = 50
"""Events written per transaction: short ones let webhook inserts in between (SQLite)."""
PER_TRANSACTION_BUSY = 10
YIELD_S = 1.0
"""While webhooks pour in, the handler pauses this long between transactions: receiving (a
client waits) goes before handling (nobody waits), which catches up when the burst is over."""


@dataclass
class Handled:
    """What one pass over the inbox did."""

    handled: int = 0
    failed: int = 0
    given_up: int = 0
    due: int = field(default=0, repr=False)  # how many were due when the pass began

    def to_dict(self) -> dict[str, int]:
        return {"handled": self.handled, "failed": self.failed, "given_up": self.given_up}


def apply_events(
    session: Session, events: Sequence[dict[str, Any]], txns: dict[str, dict[str, Any]]
) -> None:
    """Write what events say: ledger facts, balance transactions, checkout sessions and the
    orders they make or settle, alerts (in bulk)."""
    intents = checkout.intents_of([_object(event) for event in events])
    lock_names(session, "payment_intent", intents)  # its session and its charge meet once
    stated, known = [], []
    for event in events:
        obj = _object(event)
        watermark = timestamp(int(event["created"]))
        stated += [ledger.Stated(f, watermark, event["id"]) for f in entry_facts(obj)]
        known += balance_facts(obj)
        known += [balance_fact(txns[i]) for i in wanted_txns(event) if i in txns]
    ledger.record_many(session, stated)
    ledger.record_balance(session, known, origin="api")
    made = checkout.record_sessions(session, checkout.seen_in(events))
    linked, charges = checkout_orders.link_charges(session, intents)
    sync_orders_after_events(session, events, orders=made | linked, charges=charges)
    for event in events:
        _alert(session, event["type"], _object(event))


def _object(event: dict[str, Any]) -> dict[str, Any]:
    """The Stripe object an event carries (`data.object`)."""
    return (event.get("data") or {}).get("object") or {}


def wanted_txns(event: dict[str, Any]) -> list[str]:
    """Balance transactions an event names by id only (a charge's, a refund's, a payout's)."""
    obj = _object(event)
    if obj.get("object") not in ("charge", "refund", "payout"):
        return []
    found = object_id(obj.get("balance_transaction"))
    if found is None or isinstance(obj.get("balance_transaction"), dict):
        return []
    return [found]


def _alert(session: Session, type: str, obj: dict[str, Any]) -> None:
    if type in ("charge.failed", "payment_intent.payment_failed"):
        error = obj.get("last_payment_error") or {}
        ref = (object_id(obj.get("latest_charge")) or object_id(error.get("charge"))
               if obj.get("object") == "payment_intent" else obj["id"]) or obj["id"]  # fmt: skip
        reason = obj.get("failure_message") or error.get("message") or "no reason given"
        amount = format_minor(int(obj["amount"]), obj["currency"])
        raise_alert(
            session, kind="failed_charge", severity=5, fingerprint=f"failed_charge:{ref}",
            title=f"Charge {ref} of {amount} {obj['currency'].upper()} failed: {reason}",
            details={"stripe_id": ref, "amount_minor": obj["amount"],
                     "currency": obj["currency"], "reason": reason,
                     "order_id": (obj.get("metadata") or {}).get("order_id")},
        )  # fmt: skip
    elif type == "charge.dispute.created":
        amount = format_minor(int(obj["amount"]), obj["currency"])
        raise_alert(
            session, kind="dispute", severity=7, fingerprint=f"dispute:{obj['id']}",
            title=f"Dispute {obj['id']} on {object_id(obj.get('charge'))}: {amount} "
                  f"{obj['currency'].upper()} withdrawn ({obj.get('reason')})",
            details={"stripe_id": obj["id"], "charge": object_id(obj.get("charge")),
                     "amount_minor": obj["amount"], "currency": obj["currency"]},
        )  # fmt: skip


def handle_pending(engine: Engine, fetch: FetchTxn | None, limit: int = BATCH) -> Handled:
    """Handle one batch of due events, a transaction per few; failures are retried later.

    Balance transactions the events point at are fetched before the write transaction opens,
    so no database lock is held across a call to Stripe.
    """
    with session_scope(engine, readonly=True) as session:
        due = inbox.pending(session, limit)
        wanted = {i for event in due for i in wanted_txns(event.payload)}
        if wanted:
            query = select(StripeBalanceTransaction.id).where(
                StripeBalanceTransaction.id.in_(wanted)
            )
            wanted -= set(session.scalars(query))
    txns, fetch_errors = _fetch(fetch, wanted)
    result = Handled(due=len(due))
    start = 0
    while start < len(due):
        size = PER_TRANSACTION
        if pressure.busy():  # a burst is arriving: short transactions, and receiving goes first
            size = PER_TRANSACTION_BUSY
            if start:
                time.sleep(YIELD_S)
        with session_scope(engine) as session:
            _handle(session, due[start : start + size], txns, fetch_errors, result)
        start += size
    return result


def _handle(
    session: Session,
    events: list[inbox.Pending],
    txns: dict[str, Any],
    fetch_errors: dict[str, str],
    result: Handled,
) -> None:
    """Apply events together; if that fails, one by one, so one bad event fails alone."""
    mine = inbox.take(session, [event.id for event in events])
    ready = []
    for event in (e for e in events if e.id in mine):
        missing = [i for i in wanted_txns(event.payload) if i in fetch_errors]
        if missing:
            _failed(session, event, f"fetching {missing[0]}: {fetch_errors[missing[0]]}", result)
        else:
            ready.append(event)
    try:
        with session.begin_nested():
            apply_events(session, [event.payload for event in ready], txns)
            inbox.mark_handled(session, [event.id for event in ready])
        result.handled += len(ready)
        return
    except Exception as error:  # some event of the batch is bad: find it below
        log.info("a batch of %d Stripe events failed (%s); handling them one by one",
                 len(ready), error)  # fmt: skip
    for event in ready:
        try:
            with session.begin_nested():
                apply_events(session, [event.payload], txns)
                inbox.mark_handled(session, [event.id])
            result.handled += 1
        except Exception as error:  # one bad event must not hold the others back
            _failed(session, event, f"{type(error).__name__}: {error}", result)


def _failed(session: Session, event: inbox.Pending, error: str, result: Handled) -> None:
    """Record a failed attempt at one event (and an alert when it was the last)."""
    log.warning("Stripe event %s not handled: %s", event.id, error)
    result.failed += 1
    if inbox.mark_failed(session, event, error):
        result.given_up += 1
        _given_up(session, event)


def _fetch(fetch: FetchTxn | None, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    found: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if fetch is None:  # no API key: fees come later from `stripe sync` or a report
        return found, errors
    for txn_id in sorted(wanted):
        try:
            found[txn_id] = fetch(txn_id)
        except Exception as error:  # the event waits and is retried with backoff
            errors[txn_id] = f"{type(error).__name__}: {error}"
    return found, errors


def _given_up(session: Session, event: inbox.Pending) -> None:
    raise_alert(
        session, kind="stripe_event_failed", severity=6,
        fingerprint=f"stripe_event_failed:{event.id}",
        title=f"Stripe event {event.id} could not be handled after {inbox.MAX_ATTEMPTS} attempts",
        details={"event_id": event.id, "type": event.payload.get("type"),
                 "hint": f"fix the cause, then run: governor stripe replay {event.id}"},
    )  # fmt: skip


def drain(engine: Engine, fetch: FetchTxn | None, *, max_batches: int = 1000) -> Handled:
    """Handle due events batch after batch until none is left (or `max_batches` ran)."""
    total = Handled()
    for _ in range(max_batches):
        batch = handle_pending(engine, fetch)
        total.handled += batch.handled
        total.failed += batch.failed
        total.given_up += batch.given_up
        if batch.due < BATCH:  # the inbox held less than a batch: nothing is left behind
            break
    return total
