"""Reconciliation as a user meets it: a business's Stripe history delivered through webhooks,
one planted discrepancy of every kind, and `governor stripe reconcile` over the API, over what
is stored, and over Stripe's itemized report; each test on SQLite and on PostgreSQL."""

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.demo.stripe_server import StripeServer, StripeStore
from governor.demo.stripe_server.objects import Obj
from governor.demo.stripe_server.reports import itemized_report
from governor.errors import BadInput
from governor.models import (
    Alert,
    Discrepancy,
    LedgerEntry,
    ReconciliationRun,
    StripeBalanceTransaction,
)
from governor.revenue import ledger as ledger_writer
from governor.revenue import service
from governor.revenue.reconcile import KINDS, Found, Outcome, Window
from governor.revenue.report import write_report
from governor.revenue.translate import EntryFact
from governor.storage.db import session_scope
from tests.revenue.conftest import START, deliver, process

DAY = 86_400
SINCE, UNTIL = "2025-12-31", "2026-01-10"
WINDOW = Window(datetime(2025, 12, 31, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC))
GHOST = "ch_ghostNeverSeenByStripe01"

Pairs = set[tuple[str, str]]


# A history, delivered ---------------------------------------------------------------------------


def healthy(store: StripeStore) -> dict[str, Obj]:
    """A small business's first days: sales in USD and JPY, a partial refund, a dispute won, a
    fee settled late, an order retried after a full refund (not a double charge), then every
    available balance paid out."""
    made: dict[str, Obj] = {}
    made["sale"] = store.create_charge(5000, metadata={"order_id": "ord_sale"})
    store.clock.advance(60)
    made["partly_refunded"] = store.create_charge(2500, metadata={"order_id": "ord_refund"})
    made["refund"] = store.refund(made["partly_refunded"]["id"], 1000)
    store.clock.advance(60)
    made["disputed"] = store.create_charge(8000, metadata={"order_id": "ord_dispute"})
    made["dispute"] = store.open_dispute(made["disputed"]["id"])
    store.clock.advance(60)
    store.close_dispute(made["dispute"]["id"], won=True)
    made["yen"] = store.create_charge(3000, "jpy", metadata={"order_id": "ord_yen"})
    made["late_fee"] = store.create_charge(1200, metadata={"order_id": "ord_late_fee"},
                                           fee_later=True)  # fmt: skip
    store.clock.advance(60)
    made["first_try"] = store.create_charge(1900, metadata={"order_id": "ord_retry"})
    store.refund(made["first_try"]["id"])
    store.clock.advance(60)
    made["second_try"] = store.create_charge(1900, metadata={"order_id": "ord_retry"})
    store.clock.advance(3600)
    store.settle_fee(made["late_fee"]["id"])
    store.clock.advance(3 * DAY)
    usd, jpy = sorted(store.payout_all(), key=lambda po: po["currency"] != "usd")
    assert (usd["currency"], jpy["currency"]) == ("usd", "jpy")
    made["payout"], made["yen_payout"] = usd, jpy
    store.clock.advance(60)
    return made


HEALTHY_TXNS = 13  # 7 charges, 2 refunds, a dispute and its reversal, 2 payouts
HEALTHY_ENTRIES = 21  # 7 charges, 2 refunds, dispute, reversal, 7 + 1 fees, 2 payouts


def deliver_all_but(stand_in: StripeServer, url: str, engine: Engine, *hidden: Obj) -> None:
    """POST every recorded event except those about the hidden charges, then handle them."""
    lost = {ch["id"] for ch in hidden} | {ch["payment_intent"] for ch in hidden}
    events = [
        event
        for event in reversed(stand_in.store.all("events"))
        if event["data"]["object"].get("id") not in lost
    ]
    assert set(deliver(stand_in, url, events=events)) == {200}
    handled = process(engine)
    assert (handled.handled, handled.failed) == (len(events), 0)


def set_entry(engine: Engine, kind: str, ref: str, **values: Any) -> None:
    """Change what the ledger says about one entry, as a bug or a bad hand edit would."""
    with session_scope(engine) as session:
        changed = session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.kind == kind, LedgerEntry.source_ref == ref)
            .values(**values)
        )
        assert changed.rowcount == 1, (kind, ref)  # type: ignore[attr-defined]


def stored_txn(engine: Engine, txn_id: str) -> StripeBalanceTransaction:
    """Governor's copy of one of Stripe's balance transactions."""
    with session_scope(engine, readonly=True) as session:
        row = session.get(StripeBalanceTransaction, txn_id)
        assert row is not None, txn_id
        session.expunge(row)
        return row


def count(engine: Engine, model: Any) -> int:
    with session_scope(engine, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def pairs(outcome: Outcome | dict[str, Any]) -> Pairs:
    """(kind, stripe_id) of each discrepancy of an outcome or of its JSON."""
    items = outcome.to_dict() if isinstance(outcome, Outcome) else outcome
    return {(item["kind"], item["stripe_id"]) for item in items["discrepancies"]}


def the(outcome: Outcome, kind: str, stripe_id: str) -> Found:
    """The one discrepancy of this kind about this Stripe object."""
    matching = [d for d in outcome.discrepancies if (d.kind, d.stripe_id) == (kind, stripe_id)]
    assert len(matching) == 1, (kind, stripe_id, pairs(outcome))
    return matching[0]


def reconcile(engine: Engine) -> Outcome:
    return service.reconcile_window(engine, get_settings(), WINDOW)


def without_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on Governor has no Stripe key: webhooks, reports and what is stored only."""
    monkeypatch.delenv("GOVERNOR_STRIPE_API_KEY", raising=False)
    get_settings.cache_clear()


def reconciliation_alerts(engine: Engine) -> list[Alert]:
    with session_scope(engine, readonly=True) as session:
        found = session.scalars(select(Alert).where(Alert.kind.like("reconciliation.%")))
        alerts = list(found)
        session.expunge_all()
        return alerts


# One of each kind -------------------------------------------------------------------------------


class Planted:
    """A healthy history, then one discrepancy of each kind but payout_mismatch, which only
    `break_payout` plants (it has to come after the refresh from Stripe's API)."""

    def __init__(self, engine: Engine, store: StripeStore, stand_in: StripeServer, url: str):
        self.engine = engine
        self.made = made = healthy(store)
        # Money in Stripe whose events never reached Governor.
        made["unseen"] = store.create_charge(4200, metadata={"order_id": "ord_unseen"})
        store.clock.advance(60)
        made["mispriced"] = store.create_charge(6000, metadata={"order_id": "ord_price"})
        made["euro"] = store.create_charge(1500, "eur", metadata={"order_id": "ord_euro"})
        made["overcharged"] = store.create_charge(7000, metadata={"order_id": "ord_fee"})
        made["paid_anyway"] = store.create_charge(3300, metadata={"order_id": "ord_paid"})
        store.clock.advance(60)
        made["double_a"] = store.create_charge(2000, metadata={"order_id": "ord_twice"})
        store.clock.advance(60)
        made["double_b"] = store.create_charge(2000, metadata={"order_id": "ord_twice"})
        made["declined"] = store.charge_failed(1200, metadata={"order_id": "ord_declined"})
        deliver_all_but(stand_in, url, engine, made["unseen"])

        # The ledger disagrees with Stripe, one way per kind.
        set_entry(engine, "charge", made["mispriced"]["id"], amount_minor=5400)
        set_entry(engine, "charge", made["euro"]["id"], currency="usd")
        self.fee_txn = made["overcharged"]["balance_transaction"]
        self.stripe_fee = stored_txn(engine, self.fee_txn).fee_minor
        set_entry(engine, "fee", self.fee_txn, amount_minor=-(self.stripe_fee + 50))
        set_entry(engine, "charge", made["paid_anyway"]["id"], status="failed")
        with session_scope(engine) as session:  # a sale Stripe never saw
            when = datetime.fromtimestamp(START + DAY, UTC)
            fact = EntryFact(kind="charge", source_ref=GHOST, amount_minor=1999, currency="usd",
                             status="succeeded", occurred_at=when, charge_id=GHOST,
                             order_id="ord_ghost")  # fmt: skip
            ledger_writer.record(session, fact, watermark=when)

    def expected(self, *, payout: bool) -> Pairs:
        made = self.made
        found = {
            ("missing_in_ledger", made["unseen"]["id"]),
            ("missing_in_stripe", GHOST),
            ("amount_mismatch", made["mispriced"]["id"]),
            ("currency_mismatch", made["euro"]["id"]),
            ("fee_mismatch", self.fee_txn),
            ("status_mismatch", made["paid_anyway"]["id"]),
            ("duplicate", made["double_b"]["id"]),
            ("failed_charge", made["declined"]["id"]),
        }
        if payout:
            found.add(("payout_mismatch", made["payout"]["id"]))
        return found

    def break_payout(self) -> int:
        """Governor's copy of one paid-out transaction loses 100 of its net (as a bad import
        would); returns the USD payout's amount."""
        member = self.made["sale"]["balance_transaction"]
        row = stored_txn(self.engine, member)
        assert row.payout_id == self.made["payout"]["id"]  # members were fetched by the refresh
        with session_scope(self.engine) as session:
            session.execute(
                update(StripeBalanceTransaction)
                .where(StripeBalanceTransaction.id == member)
                .values(net_minor=row.net_minor - 100)
            )
        return int(self.made["payout"]["amount"])


@pytest.fixture
def planted(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str
) -> Planted:
    return Planted(migrated, store, stand_in, webhook_url)


def test_one_planted_discrepancy_of_each_kind_is_found_and_nothing_else(
    planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, made = planted.engine, planted.made
    over_api = reconcile(engine)

    # The payout's members as Governor stored them no longer add up: compare what is stored.
    without_api_key(monkeypatch)
    paid_out = planted.break_payout()
    stored = reconcile(engine)

    assert (over_api.origin, stored.origin) == ("api", "stored")
    assert {kind for kind, _ in pairs(stored)} == set(KINDS)

    # Evidence carries the real numbers: Stripe's as expected, the ledger's as actual.
    unseen = the(stored, "missing_in_ledger", made["unseen"]["id"])
    assert (unseen.expected, unseen.actual, unseen.currency) == (4200, None, "usd")
    assert unseen.evidence["balance_transaction"] == made["unseen"]["balance_transaction"]
    ghost = the(stored, "missing_in_stripe", GHOST)
    assert (ghost.expected, ghost.actual, ghost.currency) == (None, 1999, "usd")
    assert ghost.evidence["order_id"] == "ord_ghost"
    mispriced = the(stored, "amount_mismatch", made["mispriced"]["id"])
    assert (mispriced.expected, mispriced.actual, mispriced.currency) == (6000, 5400, "usd")
    euro = the(stored, "currency_mismatch", made["euro"]["id"])
    assert (euro.expected, euro.actual) == ("eur", "usd")
    fee = the(stored, "fee_mismatch", planted.fee_txn)
    assert planted.stripe_fee == 233  # 2.9 % of 70.00 USD, plus 0.30
    assert (fee.expected, fee.actual, fee.currency) == (233, 283, "usd")
    assert fee.evidence["source"] == made["overcharged"]["id"]
    paid_anyway = the(stored, "status_mismatch", made["paid_anyway"]["id"])
    assert (paid_anyway.expected, paid_anyway.actual) == ("succeeded", "failed")
    double = the(stored, "duplicate", made["double_b"]["id"])
    assert double.evidence["order_id"] == "ord_twice"
    assert double.evidence["charges"] == [made["double_a"]["id"], made["double_b"]["id"]]
    declined = the(stored, "failed_charge", made["declined"]["id"])
    assert (declined.expected, declined.actual, declined.currency) == (1200, 0, "usd")
    assert declined.evidence["order_id"] == "ord_declined"
    payout = the(stored, "payout_mismatch", made["payout"]["id"])
    assert (payout.expected, payout.actual, payout.currency) == (paid_out, paid_out - 100, "usd")
    assert type(payout.actual) is int  # an integer of minor units, as every amount

    # What the run stored is what it returned.
    with session_scope(engine, readonly=True) as session:
        run = session.get(ReconciliationRun, stored.run_id)
        assert run is not None
        assert (run.status, run.origin, run.counts) == ("discrepancies", "stored", stored.counts)
        assert (run.window_start, run.window_end) == (WINDOW.start, WINDOW.end)
        rows = session.scalars(select(Discrepancy).where(Discrepancy.run_id == run.id))
        kept = sorted((r.kind, r.stripe_id, r.expected, r.actual, r.currency, r.evidence)
                      for r in rows)  # fmt: skip
    assert kept == sorted((d.kind, d.stripe_id, d.expected, d.actual, d.currency, d.evidence)
                          for d in stored.discrepancies)  # fmt: skip

    # Exactly what was planted, no more: one of each kind.
    assert pairs(over_api) == planted.expected(payout=False)
    assert pairs(stored) == planted.expected(payout=True)
    assert stored.counts == {
        "stripe_transactions": HEALTHY_TXNS + 7,  # the 7 new charges that succeeded
        # 6 new charges with their fees, the unseen one's fee, the declined one, the ghost
        "ledger_entries": HEALTHY_ENTRIES + 6 * 2 + 1 + 1 + 1,
        "discrepancies": len(KINDS),
        **{kind: 1 for kind in KINDS},
    }


def test_reconciling_twice_finds_the_same_and_counts_each_alert_twice(planted: Planted) -> None:
    first = reconcile(planted.engine)
    second = reconcile(planted.engine)  # refreshes from Stripe again: nothing doubles

    assert first.run_id != second.run_id
    assert [d.to_dict() for d in second.discrepancies] == [d.to_dict() for d in first.discrepancies]
    assert second.counts == first.counts
    assert count(planted.engine, Discrepancy) == 2 * len(first.discrepancies)
    alerts = reconciliation_alerts(planted.engine)
    # One alert per discrepancy, each seen twice; failed charges were alerted when they failed.
    alerted = {(d.kind, d.stripe_id) for d in first.discrepancies if d.kind != "failed_charge"}
    assert sorted(a.fingerprint for a in alerts) == sorted(
        f"reconciliation:{kind}:{stripe_id}" for kind, stripe_id in alerted
    )
    assert [a.count for a in alerts] == [2] * len(alerts)
    assert {a.status for a in alerts} == {"open"}


# The command line ------------------------------------------------------------------------------


def test_clean_then_one_change_found_in_json_and_in_the_table(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str, cli
) -> None:
    made = healthy(store)
    # Just past the window (`--until` is exclusive): not this run's business, however wrong.
    edge = store.create_charge(900, created=int(WINDOW.end.timestamp()))
    deliver_all_but(stand_in, webhook_url, migrated)
    set_entry(migrated, "charge", edge["id"], amount_minor=1)

    clean = cli("stripe", "reconcile", "--since", SINCE, "--until", UNTIL)

    assert clean.exit_code == 0, clean.output
    assert "clean" in clean.stdout
    assert f"against api: {HEALTHY_TXNS} Stripe transactions, {HEALTHY_ENTRIES} ledger" in (
        clean.stdout
    )
    assert reconciliation_alerts(migrated) == []
    assert count(migrated, Discrepancy) == 0

    set_entry(migrated, "charge", made["yen"]["id"], amount_minor=2999)
    as_json = cli("stripe", "reconcile", "--since", SINCE, "--until", UNTIL, "--json")

    assert as_json.exit_code == 1, as_json.output
    data = json.loads(as_json.stdout)  # nothing but JSON on stdout
    assert set(data) == {"run_id", "window", "origin", "counts", "discrepancies"}
    assert data["window"] == {"since": "2025-12-31T00:00:00+00:00",
                              "until": "2026-01-10T00:00:00+00:00"}  # fmt: skip
    assert data["origin"] == "api"
    only_one = {kind: int(kind == "amount_mismatch") for kind in KINDS}
    assert data["counts"] == {
        "stripe_transactions": HEALTHY_TXNS,
        "ledger_entries": HEALTHY_ENTRIES,
        "discrepancies": 1,
        **only_one,
    }
    [item] = data["discrepancies"]
    assert set(item) == {"kind", "stripe_id", "expected", "actual", "currency", "evidence"}
    # Zero-decimal: yen are whole units, as Stripe sends them, never scaled.
    assert {key: item[key] for key in ("kind", "stripe_id", "expected", "actual", "currency")} == {
        "kind": "amount_mismatch", "stripe_id": made["yen"]["id"], "expected": 3000,
        "actual": 2999, "currency": "jpy",
    }  # fmt: skip
    assert item["evidence"]["balance_transaction"] == made["yen"]["balance_transaction"]

    table = cli("stripe", "reconcile", "--since", SINCE, "--until", UNTIL)

    assert table.exit_code == 1, table.output
    assert "amount_mismatch" in table.stdout
    for shown in (made["yen"]["id"], "3000", "2999", "jpy", "1 discrepancies"):
        assert shown in table.stdout, shown
    assert "rk_test_governor_readonly" not in table.output  # the key never shows
    [alert] = reconciliation_alerts(migrated)
    assert (alert.fingerprint, alert.count) == (
        f"reconciliation:amount_mismatch:{made['yen']['id']}",
        2,
    )


# Stripe's itemized report, with no API key -----------------------------------------------------


def write(store: StripeStore, path: Path, *, leave_out: str | None = None) -> Path:
    """The stand-in's itemized report of the window, as Stripe lays it out (no payout rows)."""
    rows = itemized_report(store, int(WINDOW.start.timestamp()), int(WINDOW.end.timestamp()))
    kept = [row for row in rows if row.source_id != leave_out]
    assert len(kept) == len(rows) - (leave_out is not None)
    write_report(kept, path)
    return path


def test_report_finds_a_charge_it_lacks_and_is_clean_once_complete(
    migrated: Engine, store: StripeStore, stand_in: StripeServer, webhook_url: str, cli,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    healthy(store)
    late = store.create_charge(4400, metadata={"order_id": "ord_late"})  # after the payouts
    without_api_key(monkeypatch)  # nothing is fetched: fees and transactions come from reports
    deliver_all_but(stand_in, webhook_url, migrated)
    reconcile_with = ("stripe", "reconcile", "--since", SINCE, "--until", UNTIL, "--json",
                      "--report")  # fmt: skip

    partial = cli(*reconcile_with, str(write(store, tmp_path / "partial.csv",
                                             leave_out=late["id"])))  # fmt: skip
    complete = cli(*reconcile_with, str(write(store, tmp_path / "balance.csv")))

    lacking, whole = json.loads(partial.stdout), json.loads(complete.stdout)
    assert (lacking["origin"], whole["origin"]) == ("report:partial.csv", "report:balance.csv")
    assert ("missing_in_stripe", late["id"]) in pairs(lacking)
    [item] = [d for d in lacking["discrepancies"] if d["stripe_id"] == late["id"]]
    assert (item["expected"], item["actual"], item["currency"]) == (None, 4400, "usd")
    assert item["evidence"]["order_id"] == "ord_late"
    assert count(migrated, StripeBalanceTransaction) == HEALTHY_TXNS - 2 + 1  # no payout rows
    # Stripe's balance report has no payout rows: the ledger's payouts are not "missing".
    assert (pairs(lacking), pairs(whole)) == ({("missing_in_stripe", late["id"])}, set())
    assert (partial.exit_code, complete.exit_code) == (1, 0)


def test_a_malformed_report_stores_nothing_and_names_the_line(
    migrated: Engine, store: StripeStore, cli, tmp_path: Path
) -> None:
    healthy(store)
    report = write(store, tmp_path / "balance.csv")
    with report.open(newline="") as source:
        lines = list(csv.reader(source))
    lines[4][lines[0].index("gross")] = "12.3.4"  # line 5 of the file, the header being line 1
    with report.open("w", newline="") as target:
        csv.writer(target).writerows(lines)

    result = cli("stripe", "reconcile", "--since", SINCE, "--until", UNTIL, "--report",
                 str(report))  # fmt: skip

    assert result.exit_code == 2, result.output
    assert "line 5: gross" in result.stderr
    assert "nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr
    assert count(migrated, StripeBalanceTransaction) == 0
    assert count(migrated, ReconciliationRun) == 0


# Mistakes and missing data ---------------------------------------------------------------------


def test_no_key_and_nothing_stored_exits_2_pointing_at_the_report(migrated: Engine, cli) -> None:
    result = cli("stripe", "reconcile", "--since", SINCE, "--until", UNTIL)

    assert result.exit_code == 2, result.output
    assert "Nothing of Stripe's is stored for 2025-12-31 00:00 to 2026-01-10 00:00" in (
        result.stderr
    )
    assert "governor stripe reconcile --report FILE.csv" in result.stderr
    assert "GOVERNOR_STRIPE_API_KEY" in result.stderr
    assert count(migrated, ReconciliationRun) == 0


def test_a_window_that_is_empty_or_not_a_date_is_refused(migrated: Engine, cli) -> None:
    backwards = cli("stripe", "reconcile", "--since", UNTIL, "--until", SINCE)
    not_a_date = cli("stripe", "reconcile", "--since", "last tuesday")

    assert backwards.exit_code == 2, backwards.output
    assert "--since 2026-01-10T00:00:00+00:00 is not before --until 2025-12-31" in (
        backwards.stderr
    )
    assert "Traceback" not in backwards.stderr
    assert not_a_date.exit_code == 2
    assert "--since 'last tuesday' is not a date" in not_a_date.stderr
    with pytest.raises(BadInput, match="window is empty"):
        service.reconcile_window(migrated, get_settings(), Window(WINDOW.end, WINDOW.end))
    assert count(migrated, ReconciliationRun) == 0
