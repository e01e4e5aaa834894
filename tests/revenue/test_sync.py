"""`governor stripe sync`: recent events, older objects and every balance transaction, page by
page with resumable checkpoints; and the `stripe sync/status/replay` commands."""

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.demo.stripe_server import Clock, StripeServer, StripeStore
from governor.errors import NotFound
from governor.models import LedgerEntry, StripeBalanceTransaction, StripeEvent, StripeSyncCheckpoint
from governor.outbound import reset_stats, stats
from governor.revenue import sync
from governor.revenue.stripe_api import close_client, stripe_client
from governor.storage.db import session_scope
from tests.revenue.conftest import deliver, ledger, process

DAY = 86_400
NOW = int(time.time())  # sync's "now" is real time: the scenarios are placed around it
OLD = NOW - 60 * DAY  # before the 30 days Stripe keeps events: fetched as objects
RECENT = NOW - 5 * DAY  # inside them: fetched as events
SINCE = datetime.fromtimestamp(NOW - 90 * DAY, UTC)
ALL = (
    "events",
    "charges",
    "refunds",
    "disputes",
    "payouts",
    "checkout.sessions",
    "balance_transactions",
)


@pytest.fixture
def store() -> StripeStore:
    """The stand-in's store, its clock before everything the scenarios create."""
    return StripeStore(clock=Clock(NOW - 90 * DAY), seed=7)


def _attempts(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setenv("GOVERNOR_OUTBOUND_MAX_ATTEMPTS", str(n))
    get_settings.cache_clear()


def _business(store: StripeStore) -> None:
    """Two months: old sales, refunds, a dispute and payouts; recent ones; old objects changed
    recently (a refund of an old charge, an old dispute won); a late fee; failed charges."""
    clock = store.clock
    clock.set(OLD)
    sold = store.create_charge(20_000, metadata={"order_id": "ord_old", "offer_id": "off_1"})
    euros = store.create_charge(5000, "eur")
    store.refund(euros["id"], 1500, created=OLD + 3600)
    disputed = store.create_charge(4000)
    old_dispute = store.open_dispute(disputed["id"], created=OLD + 7200)
    store.create_charge(3000, fee_later=True)  # its fee never settles: no fee entry
    store.charge_failed(700, metadata={"order_id": "ord_failed_old"})
    store.create_charge(8000, "jpy")
    clock.set(OLD + 3 * DAY)
    store.payout_all()  # usd, eur and jpy, paid

    clock.set(RECENT)
    store.refund(sold["id"], 500, created=RECENT + 600)  # an old charge refunded recently
    store.close_dispute(old_dispute["id"], won=True, created=RECENT + 700)
    paid = store.create_charge(9000, metadata={"order_id": "ord_new"})
    store.refund(paid["id"], 1000, created=RECENT + 60)
    late = store.create_charge(4000, fee_later=True)
    store.settle_fee(late["id"], created=RECENT + 120)
    pounds = store.create_charge(2500, "gbp")
    store.open_dispute(pounds["id"], created=RECENT + 180)
    store.charge_failed(1200)
    clock.set(NOW - 2 * DAY)
    store.create_payout(None, "usd", paid=False)  # recent and still pending
    clock.set(NOW - 3600)
    store.balance()  # every pending balance change that came due has flipped: state is final


def _expected(store: StripeStore) -> dict[tuple[str, str], tuple[int, str, str]]:
    """(kind, source_ref) → (amount, currency, status) for every entry Stripe's data implies."""
    want: dict[tuple[str, str], tuple[int, str, str]] = {}
    for ch in store.all("charges"):
        want["charge", ch["id"]] = (ch["amount"], ch["currency"], ch["status"])
    for re in store.all("refunds"):
        want["refund", re["id"]] = (-re["amount"], re["currency"], re["status"])
    for dp in store.all("disputes"):
        for txn in dp["balance_transactions"]:
            kind = "dispute" if txn["amount"] < 0 else "dispute_reversal"
            want[kind, dp["id"]] = (txn["amount"], txn["currency"], dp["status"])
    for po in store.all("payouts"):
        want["payout", po["id"]] = (-po["amount"], po["currency"], po["status"])
    for txn in store.all("balance_transactions"):
        if txn["fee"]:
            want["fee", txn["id"]] = (-txn["fee"], txn["currency"], "posted")
    return want


def _entries(engine: Engine) -> dict[tuple[str, str], tuple[int, str, str]]:
    rows = ledger(engine)
    keys = [(row["kind"], row["source_ref"]) for row in rows]
    assert len(keys) == len(set(keys)), "an entry is in the ledger twice"
    return {(r["kind"], r["source_ref"]): (r["amount_minor"], r["currency"], r["status"])
            for r in rows}  # fmt: skip


def _snapshot(engine: Engine) -> list[dict[str, Any]]:
    return sorted(ledger(engine), key=lambda row: (row["kind"], row["source_ref"]))


def _count(engine: Engine, model: Any) -> int:
    with session_scope(engine, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _mirror(engine: Engine) -> dict[str, str | None]:
    """The mirrored balance transactions: id → the payout that carried it."""
    with session_scope(engine, readonly=True) as session:
        T = StripeBalanceTransaction
        return {row.id: row.payout_id for row in session.execute(select(T.id, T.payout_id))}


def _checkpoints(engine: Engine) -> dict[str, StripeSyncCheckpoint]:
    with session_scope(engine, readonly=True) as session:
        points = session.scalars(select(StripeSyncCheckpoint)).all()
        session.expunge_all()
        return {point.resource: point for point in points}


def _created_before(store: StripeStore, kind: str, end: int) -> list[dict[str, Any]]:
    return [obj for obj in store.all(kind) if obj["created"] < end]


def test_sync_gives_the_ledger_every_webhook_gives(
    migrated: Engine,
    store: StripeStore,
    stand_in: StripeServer,
    webhook_url: str,
    client: stripe.StripeClient,
) -> None:
    _business(store)
    # Every event (Stripe sends old ones too, as they happened) through the real endpoint.
    assert set(deliver(stand_in, webhook_url)) == {200}
    assert process(migrated).failed == 0
    by_webhooks = _snapshot(migrated)
    with session_scope(migrated) as session:  # the same account, known only to sync now
        for model in (LedgerEntry, StripeBalanceTransaction, StripeEvent):
            session.execute(delete(model))

    stored = sync.run(migrated, client, since=SINCE)
    assert process(migrated).failed == 0

    old_end = NOW - 30 * DAY
    assert stored["charges"] == len(_created_before(store, "charges", old_end)) == 6
    assert stored["refunds"] == 1 and stored["disputes"] == 1 and stored["payouts"] == 3
    recent_events = [e for e in store.all("events") if e["created"] >= old_end]
    assert stored["events"] == len(recent_events) == _count(migrated, StripeEvent)
    assert stored["balance_transactions"] == len(store.all("balance_transactions"))

    assert _entries(migrated) == _expected(store)
    assert _snapshot(migrated) == by_webhooks
    entries = {(r["kind"], r["source_ref"]): r for r in ledger(migrated)}
    for ch in store.all("charges"):
        entry = entries["charge", ch["id"]]
        assert entry["occurred_at"] == datetime.fromtimestamp(ch["created"], UTC)
        assert entry["balance_transaction_id"] == ch["balance_transaction"]
        fees = [r for r in entries.values() if r["kind"] == "fee" and r["charge_id"] == ch["id"]]
        if ch["balance_transaction"] is None:
            assert fees == [], ch["id"]  # failed, or its fee never settled
        else:
            txn = store.get("balance_transactions", ch["balance_transaction"])
            assert txn is not None
            assert [(f["source_ref"], f["amount_minor"]) for f in fees] == [
                (txn["id"], -txn["fee"])
            ]
    old_refund = next(r for r in store.all("refunds") if r["amount"] == 500)
    assert entries["refund", old_refund["id"]]["order_id"] == "ord_old"  # the old charge's links

    mirror = _mirror(migrated)
    txns = store.all("balance_transactions")
    assert sorted(mirror) == sorted(t["id"] for t in txns)
    assert {t["id"]: store.paid_out_in(t["id"]) for t in txns} == mirror
    assert all(point.done and point.cursor is None for point in _checkpoints(migrated).values())
    assert sorted(_checkpoints(migrated)) == sorted(ALL)


def test_running_sync_again_changes_nothing(
    migrated: Engine, store: StripeStore, client: stripe.StripeClient
) -> None:
    _business(store)
    first = sync.run(migrated, client, since=SINCE)
    process(migrated)
    counts = [_count(migrated, m) for m in (LedgerEntry, StripeBalanceTransaction, StripeEvent)]
    before = _snapshot(migrated)

    again = sync.run(migrated, client, since=SINCE)
    assert process(migrated).handled == 0  # every event was there already, handled
    assert again == first
    assert [_count(migrated, m) for m in (LedgerEntry, StripeBalanceTransaction, StripeEvent)] == (
        counts
    )
    assert _snapshot(migrated) == before

    since_last = sync.run(migrated, client)  # from where the last one ended
    assert set(since_last) == {"events", "balance_transactions"}
    assert process(migrated).handled == 0
    assert _snapshot(migrated) == before
    assert _entries(migrated) == _expected(store)


PAGE = 10
"""Sync's page size in the resume tests: small, so that a few objects make several pages."""


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "PAGE", PAGE)


def _many(store: StripeStore) -> None:
    """25 old charges (three pages of objects), a few recent ones."""
    store.clock.set(OLD)
    for i in range(25):
        store.create_charge(1000 + i, created=OLD + i)
    store.clock.set(RECENT)
    for i in range(3):
        store.create_charge(500 + i)
    store.clock.set(NOW - 3600)


@pytest.mark.parametrize(
    ("failing", "again_since"),
    [("charges", SINCE), ("charges", None), ("balance_transactions", SINCE)],
    ids=["charges", "charges-then-no-since", "balance_transactions"],
)
@pytest.mark.usefixtures("small_pages")
def test_an_interrupted_sync_resumes_from_its_checkpoint(
    migrated: Engine,
    store: StripeStore,
    client: stripe.StripeClient,
    monkeypatch: pytest.MonkeyPatch,
    failing: str,
    again_since: datetime | None,
) -> None:
    _many(store)
    _attempts(monkeypatch, 1)  # no retries: the first failure ends the run
    broken = stripe_client()
    injected: list[int] = []

    def fail_after_first_page(resource: str, count: int) -> None:
        if resource == failing and not injected:
            injected.append(count)
            store.fail_next(50, 500, retry_after=0)

    with pytest.raises(stripe.APIError):
        sync.run(migrated, broken, since=SINCE, progress=fail_after_first_page)
    close_client(broken)
    assert injected == [PAGE]
    while store.take_failure() is not None:  # Stripe is back
        pass

    end = NOW if failing == "balance_transactions" else NOW - 30 * DAY
    walked = _created_before(store, failing, end)
    point = _checkpoints(migrated)[failing]
    assert (point.done, point.cursor) == (False, walked[PAGE - 1]["id"])
    if failing == "charges":  # the first page is in the ledger already
        assert _count(migrated, LedgerEntry) == PAGE
    else:
        assert len(_mirror(migrated)) == PAGE

    # Again, as `governor stripe sync` (with the same --since, or none) or the hourly task.
    stored = sync.run(migrated, client, since=again_since)
    assert failing in stored, f"the unfinished {failing} walk was not resumed: {stored}"
    assert stored[failing] == len(walked) - PAGE  # only what was left
    process(migrated)

    points = _checkpoints(migrated)
    assert all(p.done and p.cursor is None for p in points.values()), points
    assert len(store.all("charges")) == 28
    assert _entries(migrated) == _expected(store)  # each charge and fee once
    assert sorted(_mirror(migrated)) == sorted(t["id"] for t in store.all("balance_transactions"))


def test_rate_limits_are_absorbed_by_the_outbound_client(
    migrated: Engine, store: StripeStore, client: stripe.StripeClient
) -> None:
    _many(store)
    reset_stats()
    store.fail_next(3, 429, retry_after=0)

    stored = sync.run(migrated, client, since=SINCE)
    process(migrated)

    assert stats()["127.0.0.1"].responses_429 == 3
    assert stored["balance_transactions"] == len(store.all("balance_transactions"))
    assert _entries(migrated) == _expected(store)


# The command line -------------------------------------------------------------------------


def test_cli_sync_prints_counts_and_status_shows_the_checkpoints(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, cli
) -> None:
    _many(store)
    result = cli("stripe", "sync", "--since", SINCE.date().isoformat())
    assert result.exit_code == 0, result.stderr
    events = len([e for e in store.all("events") if e["created"] >= NOW - 30 * DAY])
    lines = result.stdout.splitlines()
    for line in (f"events: {events} stored", "charges: 25 stored", "refunds: 0 stored",
                 "disputes: 0 stored", "payouts: 0 stored",
                 f"balance_transactions: {len(store.all('balance_transactions'))} stored",
                 f"events handled: {events}, failed: 0"):  # fmt: skip
        assert line in lines, result.stdout
    assert _entries(migrated) == _expected(store)

    status = cli("stripe", "status", "--json")
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["events"] == {"handled": events, "waiting": 0, "given_up": 0}
    assert sorted(p["resource"] for p in data["sync"]) == sorted(ALL)
    assert all(p["done"] is True and p["cursor"] is None for p in data["sync"])
    windows = {p["resource"]: p for p in data["sync"]}
    starts = datetime.fromisoformat(windows["charges"]["window_start"])
    assert starts == datetime.fromisoformat(SINCE.date().isoformat()).replace(tzinfo=UTC)
    assert windows["charges"]["window_end"] == windows["events"]["window_start"]
    assert data["last_reconciliation"] is None


@pytest.mark.usefixtures("small_pages")
def test_cli_sync_json_and_status_after_an_interruption(
    migrated: Engine,
    store: StripeStore,
    stand_in: StripeServer,
    cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _many(store)
    _attempts(monkeypatch, 1)
    client = stripe_client()

    def fail(resource: str, count: int) -> None:
        if resource == "charges":
            store.fail_next(1, 500, retry_after=0)

    with pytest.raises(stripe.APIError):
        sync.run(migrated, client, since=SINCE, progress=fail)
    close_client(client)

    status = cli("stripe", "status", "--json")
    assert status.exit_code == 0, status.stderr
    points = {p["resource"]: p for p in json.loads(status.stdout)["sync"]}
    assert points["charges"]["done"] is False and points["charges"]["cursor"].startswith("ch_")
    plain = cli("stripe", "status")
    assert f"stopped after {points['charges']['cursor']}" in plain.stdout

    resumed = cli("stripe", "sync", "--since", SINCE.isoformat(), "--json")
    assert resumed.exit_code == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["stored"]["charges"] == 25 - PAGE
    assert data["events"]["failed"] == 0


def test_cli_sync_without_an_api_key_says_which_setting_is_missing(migrated: Engine, cli) -> None:
    result = cli("stripe", "sync", "--since", "7d")
    assert result.exit_code == 2
    assert "GOVERNOR_STRIPE_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _count(migrated, StripeSyncCheckpoint) == 0


def test_cli_replay_handles_a_stored_event_again_and_refuses_an_unknown_one(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, cli
) -> None:
    _many(store)
    assert cli("stripe", "sync", "--since", "90d").exit_code == 0
    succeeded = next(
        e for e in store.all("events")
        if e["type"] == "charge.succeeded" and e["data"]["object"]["amount"] == 501
    )  # fmt: skip
    charge_id = succeeded["data"]["object"]["id"]
    with session_scope(migrated) as session:  # lose what the event wrote
        first = session.get(StripeEvent, succeeded["id"])
        assert first is not None and first.handled_at is not None
        handled_first = first.handled_at
        session.execute(delete(LedgerEntry).where(LedgerEntry.source_ref == charge_id))

    result = cli("stripe", "replay", succeeded["id"])

    assert result.exit_code == 0, result.stderr
    assert f"{succeeded['id']} (charge.succeeded) handled at" in result.stdout
    assert _entries(migrated)["charge", charge_id] == (501, "usd", "succeeded")
    with session_scope(migrated, readonly=True) as session:
        again = session.get(StripeEvent, succeeded["id"])
        assert again is not None and again.handled_at is not None
        assert again.handled_at >= handled_first and again.attempts == 0

    unknown = cli("stripe", "replay", "evt_never_seen")
    assert unknown.exit_code == NotFound.exit_code
    assert "No Stripe event evt_never_seen" in unknown.stderr
    assert "Traceback" not in unknown.stderr
