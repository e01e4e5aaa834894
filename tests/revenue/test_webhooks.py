"""The webhook inbox and the ledger it feeds: signatures, duplicates, order, fees, disputes."""

import json
import random
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.demo.stripe_server import StripeServer, StripeStore, sign
from governor.models import (
    Alert,
    ExecutionTask,
    LedgerEntry,
    StripeBalanceTransaction,
    StripeEvent,
)
from governor.revenue import inbox
from governor.storage.db import session_scope
from governor.web.app import create_app
from tests.revenue.conftest import SECRET, deliver, ledger, process


def _count(engine: Engine, model: Any) -> int:
    with session_scope(engine, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _post(url: str, body: str, header: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return httpx.post(url, content=body.encode(), headers=headers)


def _an_event(store: StripeStore) -> dict[str, Any]:
    store.create_charge(1200)
    return store.all("events")[-1]  # the oldest: charge.succeeded


def test_forged_unsigned_stale_and_tampered_webhooks_are_rejected_and_store_nothing(
    migrated: Engine, store: StripeStore, webhook_url: str
) -> None:
    body = json.dumps(_an_event(store))
    now = int(time.time())
    attempts = {
        "unsigned": None,
        "forged": sign(body, "whsec_attacker", now),
        "stale": sign(body, SECRET, now - 301),
        "garbage header": "t=abc,v1=zzz",
        "v0 scheme only": sign(body, SECRET, now).replace("v1=", "v0="),
    }
    for name, header in attempts.items():
        response = _post(webhook_url, body, header)
        assert response.status_code == 400, name
        assert "error" in response.json()
    # A signature taken from a real delivery, replayed with another body.
    other = json.loads(body) | {"id": "evt_replayed_other_body"}
    response = _post(webhook_url, json.dumps(other), sign(body, SECRET, now))
    assert response.status_code == 400
    assert _count(migrated, StripeEvent) == 0


def test_a_signed_body_that_is_no_stripe_event_is_refused_and_fails_nothing_else(
    migrated: Engine, store: StripeStore, webhook_url: str
) -> None:
    good = json.dumps(_an_event(store))
    for bad in ('{"object": "event", "id": "evt_1", "type": "charge.succeeded"}', "[1, 2]"):
        response = _post(webhook_url, bad, sign(bad, SECRET))
        assert response.status_code == 400
        assert "not a Stripe event" in response.json()["error"]
    assert _post(webhook_url, good, sign(good, SECRET)).status_code == 200
    assert _count(migrated, StripeEvent) == 1


@pytest.mark.timing  # counts drains per DRAIN_DELAY_S: a loaded machine stretches the posts
def test_a_rotated_secret_still_verifies_and_a_duplicate_changes_nothing(
    migrated: Engine, store: StripeStore, webhook_url: str
) -> None:
    body = json.dumps(_an_event(store))
    for secret in ("whsec_old_one", SECRET, SECRET):  # both secrets of the rotation, then again
        assert _post(webhook_url, body, sign(body, secret)).status_code == 200
    assert _count(migrated, StripeEvent) == 1
    with session_scope(migrated, readonly=True) as session:
        drains = session.scalars(
            select(ExecutionTask).where(ExecutionTask.type == "revenue.process_events")
        ).all()
    assert drains and {d.kind for d in drains} == {"system"}  # the inbox's handler is queued,
    assert all(d.not_before is not None for d in drains)  # a moment later, to gather a burst
    assert len(drains) <= 2  # at most one per DRAIN_DELAY_S period, not one per delivery


def _business(store: StripeStore) -> None:
    """A small month: sales, a refund, a late fee, a failed charge, disputes, yen, payouts."""
    paid = store.create_charge(2000, metadata={"order_id": "ord_1", "offer_id": "off_1"})
    store.refund(paid["id"], 500)
    late = store.create_charge(1000, fee_later=True, metadata={"order_id": "ord_2"})
    store.clock.advance(3600)
    store.settle_fee(late["id"])
    store.charge_failed(700, metadata={"order_id": "ord_3"})
    won = store.create_charge(5000, metadata={"order_id": "ord_4"})
    store.review_dispute(store.open_dispute(won["id"])["id"])
    lost = store.create_charge(3000, metadata={"order_id": "ord_5"})
    store.close_dispute(store.open_dispute(lost["id"])["id"], won=False)
    store.clock.advance(3600)
    store.close_dispute(store.all("disputes")[-1]["id"], won=True)
    store.create_charge(5000, "jpy", metadata={"order_id": "ord_6"})
    store.clock.advance(3 * 86_400)
    store.payout_all()


def test_every_event_delivered_three_times_in_shuffled_order_gives_the_ordered_ledger(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str
) -> None:
    _business(store)
    events = list(reversed(store.all("events")))  # Stripe's order: oldest first
    deliveries = [event for event in events for _ in range(3)]
    random.Random(11).shuffle(deliveries)
    for start in range(0, len(deliveries), 4):  # handled as they come: later ones first too
        chunk = deliveries[start : start + 4]
        assert deliver(stand_in, webhook_url, events=chunk) == [200] * len(chunk)
        assert process(migrated).failed == 0
    assert _count(migrated, StripeEvent) == len(events)
    shuffled = ledger(migrated)

    with session_scope(migrated) as session:  # the same events again, handled in Stripe's order
        session.query(LedgerEntry).delete()
        session.query(StripeBalanceTransaction).delete()
        session.query(StripeEvent).update({"handled_at": None})
    process(migrated)
    assert ledger(migrated) == shuffled

    keys = [(row["kind"], row["source_ref"]) for row in shuffled]
    assert len(keys) == len(set(keys))
    kinds = sorted(row["kind"] for row in shuffled)
    assert kinds.count("charge") == 6 and kinds.count("refund") == 1
    assert kinds.count("payout") == 2  # usd and jpy, never added together
    assert kinds.count("dispute") == 2 and kinds.count("dispute_reversal") == 1


def _entries(engine: Engine, **where: Any) -> list[LedgerEntry]:
    with session_scope(engine, readonly=True) as session:
        query = select(LedgerEntry).filter_by(**where).order_by(LedgerEntry.kind)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def test_a_late_fee_is_fetched_when_the_charge_learns_its_balance_transaction(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str
) -> None:
    charge = store.create_charge(1000, fee_later=True)
    deliver(stand_in, webhook_url)
    process(migrated)
    (entry,) = _entries(migrated, charge_id=charge["id"])
    assert (entry.kind, entry.amount_minor, entry.balance_transaction_id) == ("charge", 1000, None)

    txn = store.settle_fee(charge["id"], fee=59)
    deliver(stand_in, webhook_url, events=[store.all("events")[0]])  # charge.updated
    process(migrated)
    charge_entry, fee_entry = _entries(migrated, charge_id=charge["id"])
    assert charge_entry.balance_transaction_id == txn["id"]
    assert (fee_entry.kind, fee_entry.amount_minor, fee_entry.source_ref) == ("fee", -59, txn["id"])


def test_a_refund_that_arrives_before_its_charge_is_linked_to_the_order_once_it_does(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str
) -> None:
    charge = store.create_charge(4000, metadata={"order_id": "ord_9", "idea_id": "idea_2"})
    refund = store.refund(charge["id"])
    events = list(reversed(store.all("events")))
    refund_events = [e for e in events if e["type"] == "refund.created"]
    deliver(stand_in, webhook_url, events=refund_events)
    process(migrated)
    (early,) = _entries(migrated, source_ref=refund["id"])
    assert (early.amount_minor, early.order_id) == (-4000, None)

    deliver(stand_in, webhook_url, events=[e for e in events if e not in refund_events])
    process(migrated)
    (linked,) = _entries(migrated, source_ref=refund["id"])
    assert (linked.order_id, linked.idea_id, linked.charge_id) == ("ord_9", "idea_2", charge["id"])


def test_disputes_withdraw_the_amount_and_a_fee_and_a_won_one_gives_the_amount_back(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str
) -> None:
    charge = store.create_charge(2500, metadata={"order_id": "ord_7"})
    dispute = store.open_dispute(charge["id"], fee=1500)
    store.close_dispute(dispute["id"], won=True)
    deliver(stand_in, webhook_url, shuffle=True, seed=5)
    process(migrated)
    by_kind = {e.kind: e for e in _entries(migrated) if e.kind != "charge"}
    assert by_kind["dispute"].amount_minor == -2500
    assert by_kind["dispute"].status == "won"
    assert by_kind["dispute"].order_id == "ord_7"
    assert by_kind["dispute_reversal"].amount_minor == 2500
    dispute_fee = [e for e in _entries(migrated, kind="fee") if e.amount_minor == -1500]
    assert len(dispute_fee) == 1
    with session_scope(migrated, readonly=True) as session:
        alert = session.scalar(select(Alert).where(Alert.kind == "dispute"))
    assert alert is not None and dispute["id"] in alert.title


def test_a_zero_decimal_currency_is_kept_as_stripe_sends_it(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str
) -> None:
    store.create_charge(5000, "jpy")
    deliver(stand_in, webhook_url)
    process(migrated)
    charge, fee = _entries(migrated)
    assert (charge.amount_minor, charge.currency) == (5000, "jpy")
    assert (fee.amount_minor, fee.currency) == (-145, "jpy")  # 2.9 %, no fixed part in yen


def test_a_failed_charge_is_recorded_and_raises_one_alert_for_both_of_its_events(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str
) -> None:
    failed = store.charge_failed(700, metadata={"order_id": "ord_3"},
                                 failure_message="Insufficient funds.")  # fmt: skip
    deliver(stand_in, webhook_url, shuffle=True, seed=2)  # charge.failed, payment_failed
    process(migrated)
    (entry,) = _entries(migrated)
    assert (entry.source_ref, entry.status, entry.amount_minor) == (failed["id"], "failed", 700)
    assert entry.order_id == "ord_3"
    with session_scope(migrated, readonly=True) as session:
        alerts = session.scalars(select(Alert)).all()
    assert len(alerts) == 1
    assert alerts[0].count == 2 and alerts[0].kind == "failed_charge"
    assert "7.00 USD" in alerts[0].title and "Insufficient funds." in alerts[0].title


def test_an_event_that_fails_is_retried_later_and_replay_handles_it_again(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str, cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store.create_charge(1000)
    deliver(stand_in, webhook_url)
    store.fail_next(100, status=500)  # Stripe is down: the fee cannot be fetched
    monkeypatch.setenv("GOVERNOR_OUTBOUND_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    result = process(migrated)
    assert result.failed == 1 and result.handled == 1  # charge.succeeded waits; the intent not
    with session_scope(migrated, readonly=True) as session:
        waiting = session.scalar(select(StripeEvent).where(StripeEvent.handled_at.is_(None)))
        assert waiting is not None
        assert waiting.attempts == 1 and waiting.retry_at is not None and waiting.error
        event_id = waiting.id
    assert _entries(migrated) == []  # nothing half-written

    while store.take_failure() is not None:  # Stripe is back
        pass
    replayed = cli("stripe", "replay", event_id)
    assert replayed.exit_code == 0, replayed.output
    assert "handled" in replayed.output
    assert [e.kind for e in _entries(migrated)] == ["charge", "fee"]
    unknown = cli("stripe", "replay", "evt_nope")
    assert unknown.exit_code != 0 and "evt_nope" in unknown.output


@pytest.mark.slow
def test_a_running_governor_handles_delivered_events_through_its_system_task(
    migrated: Engine, store: StripeStore, stand_in: StripeServer
) -> None:
    _business(store)
    with BackgroundServer(create_app(get_settings()), lifespan="on") as governor:
        deliver(stand_in, f"{governor.url}/webhooks/stripe", duplicates=1, shuffle=True, seed=4)
        deadline = time.monotonic() + 30
        while True:
            with session_scope(migrated, readonly=True) as session:
                waiting = inbox.counts(session)["waiting"]
            if waiting == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert waiting == 0
    with session_scope(migrated, readonly=True) as session:
        drains = session.scalars(
            select(ExecutionTask.status).where(ExecutionTask.type == "revenue.process_events")
        ).all()
    assert "succeeded" in drains  # the system task did the work (a later one may still wait)
    assert set(drains) <= {"succeeded", "pending", "running"}
    kinds = sorted(row["kind"] for row in ledger(migrated))
    assert kinds.count("charge") == 6 and kinds.count("fee") == 7 and len(kinds) == 19
