"""Scenarios: late fees, refunds, disputes, payouts and zero-decimal money, read via the SDK."""

from collections import defaultdict

import stripe

from governor.demo.stripe_server import StripeStore
from governor.demo.stripe_server.store import DAY
from tests.demo.conftest import START


def net_by_currency(client: stripe.StripeClient, **params: str) -> dict[str, int]:
    """Sum of `net` per currency over every balance transaction the API lists."""
    sums: dict[str, int] = defaultdict(int)
    for txn in client.v1.balance_transactions.list(dict(params)).auto_paging_iter():  # type: ignore[arg-type]
        assert txn.net == txn.amount - txn.fee
        assert txn.fee == sum(d.amount for d in txn.fee_details)
        sums[txn.currency] += txn.net
    return dict(sums)


def test_fee_arrives_late(store: StripeStore, client: stripe.StripeClient) -> None:
    charge = store.create_charge(2000, "usd", fee_later=True, fee=88)
    assert client.v1.charges.retrieve(charge["id"]).balance_transaction is None
    assert net_by_currency(client) == {}

    store.clock.advance(3600)
    txn = store.settle_fee(charge["id"])

    got = client.v1.charges.retrieve(charge["id"], {"expand": ["balance_transaction"]})
    assert isinstance(got.balance_transaction, stripe.BalanceTransaction)
    assert got.balance_transaction.id == txn["id"]
    assert (got.balance_transaction.fee, got.balance_transaction.net) == (88, 1912)
    assert got.balance_transaction.created == START + 3600
    updated = client.v1.events.list({"type": "charge.updated"}).data
    assert [e.data.object["balance_transaction"] for e in updated] == [txn["id"]]
    previous = updated[0].data.previous_attributes
    assert previous is not None
    assert previous.to_dict() == {"balance_transaction": None}


def test_default_fee_is_2_9_percent_plus_30() -> None:
    store = StripeStore(seed=2)
    txn_id = store.create_charge(10_000, "usd")["balance_transaction"]
    txn = store.get("balance_transactions", txn_id)
    assert txn is not None
    assert (txn["fee"], txn["net"], txn["type"], txn["reporting_category"]) == (
        320,
        9680,
        "charge",
        "charge",
    )
    assert txn["fee_details"][0]["type"] == "stripe_fee"


def test_refund_dispute_payout_sum_per_currency(
    store: StripeStore, client: stripe.StripeClient
) -> None:
    big = store.create_charge(10_000, "usd")  # fee 290 + 30
    small = store.create_charge(5_000, "usd")  # fee 145 + 30
    euro = store.create_charge(3_000, "eur")  # fee 87 + 30
    store.clock.advance(600)
    refund = store.refund(big["id"], 2_000)
    lost = store.open_dispute(small["id"], reason="fraudulent")  # -5000, fee 1500
    store.close_dispute(lost["id"], won=False)
    won = store.open_dispute(euro["id"], reason="product_not_received")  # -3000, fee 1500
    store.review_dispute(won["id"])
    store.close_dispute(won["id"], won=True)  # +3000 back, the fee stays

    usd = 10_000 - 320 + 5_000 - 175 - 2_000 - 5_000 - 1_500
    eur = 3_000 - 117 - 3_000 - 1_500 + 3_000
    assert net_by_currency(client) == {"usd": usd, "eur": eur}

    got_refund = client.v1.refunds.retrieve(refund["id"])
    assert (got_refund.amount, got_refund.charge, got_refund.status) == (
        2000,
        big["id"],
        "succeeded",
    )
    charge = client.v1.charges.retrieve(big["id"])
    assert (charge.amount_refunded, charge.refunded) == (2000, False)
    assert client.v1.charges.retrieve(small["id"]).disputed is True
    disputes = {d.id: d for d in client.v1.disputes.list().data}
    assert disputes[lost["id"]].status == "lost"
    assert disputes[won["id"]].status == "won"
    assert [t["reporting_category"] for t in disputes[won["id"]].balance_transactions] == [
        "dispute",
        "dispute_reversal",
    ]

    # Charges become available after the availability delay; then pay everything out.
    assert store.balance()["available"] != [] and store.available("usd") < usd
    store.clock.advance(2 * DAY)
    assert store.available("usd") == usd
    payouts = store.payout_all()
    assert sorted((p["currency"], p["amount"]) for p in payouts) == [("eur", eur), ("usd", usd)]
    assert net_by_currency(client) == {"usd": 0, "eur": 0}
    assert store.available("usd") == 0

    usd_payout = next(p for p in payouts if p["currency"] == "usd")
    got = client.v1.payouts.retrieve(usd_payout["id"])
    assert (got.status, got.amount, got.balance_transaction) == (
        "paid",
        usd,
        usd_payout["balance_transaction"],
    )
    # The payout's own transactions (what it carried plus itself) net to zero.
    assert net_by_currency(client, payout=usd_payout["id"]) == {"usd": 0}
    types = {e.type for e in client.v1.events.list({"limit": 100}).auto_paging_iter()}
    assert {
        "charge.succeeded",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
        "payout.created",
        "payout.paid",
        "balance.available",
    } <= types


def test_zero_decimal_currency(store: StripeStore, client: stripe.StripeClient) -> None:
    charge = store.create_charge(1_000, "JPY")
    txn = client.v1.balance_transactions.retrieve(charge["balance_transaction"])
    assert (txn.currency, txn.amount, txn.fee, txn.net) == ("jpy", 1000, 29, 971)
    krw = store.create_charge(50_000, "krw")
    krw_txn = client.v1.balance_transactions.retrieve(krw["balance_transaction"])
    assert (krw_txn.fee, krw_txn.net) == (1450, 48_550)


def test_failed_charge(store: StripeStore, client: stripe.StripeClient) -> None:
    failed = store.charge_failed(1_234, "usd", failure_code="insufficient_funds")
    got = client.v1.charges.retrieve(failed["id"])
    assert (got.status, got.paid, got.captured, got.balance_transaction) == (
        "failed",
        False,
        False,
        None,
    )
    assert got.failure_code == "insufficient_funds"
    assert net_by_currency(client) == {}
    types = [e.type for e in client.v1.events.list().data]
    assert sorted(types) == ["charge.failed", "payment_intent.payment_failed"]


def test_events_follow_the_clock(store: StripeStore, client: stripe.StripeClient) -> None:
    first = store.create_charge(100)
    store.clock.advance(90)
    store.refund(first["id"])
    events = client.v1.events.list({"type": "charge.*"}).data
    assert [(e.type, e.created) for e in events] == [
        ("charge.refunded", START + 90),
        ("charge.succeeded", START),
    ]
    assert all(e.object == "event" and e.livemode is False for e in events)
    assert events[0].data.object["refunded"] is True
    previous = events[0].data.previous_attributes
    assert previous is not None
    assert previous.to_dict() == {"amount_refunded": 0, "refunded": False}
    assert events[1].data.object["refunded"] is False  # a snapshot, not the live object
