"""Lists, cursors, filters, retrieve, expand, auth and rate limits, through the official SDK."""

import itertools
from typing import Any

import httpx
import pytest
import stripe

from governor.demo.stripe_server import StripeServer, StripeStore
from tests.demo.conftest import START


def test_auto_paging_yields_all_250_charges_newest_first_exactly_once(
    store: StripeStore, client: stripe.StripeClient
) -> None:
    # Three charges per second, so ordering must also break ties on equal `created`.
    made = [store.create_charge(100 + i, "usd", created=START + i // 3) for i in range(250)]

    seen = list(client.v1.charges.list({"limit": 100}).auto_paging_iter())

    assert len(seen) == 250
    assert len({c.id for c in seen}) == 250
    assert [c.id for c in seen] == [c["id"] for c in reversed(made)]
    assert all(a.created >= b.created for a, b in itertools.pairwise(seen))


def test_default_limit_and_list_envelope(server: StripeServer, store: StripeStore) -> None:
    for i in range(12):
        store.create_charge(500, created=START + i)
    body = httpx.get(
        f"{server.url}/v1/charges", headers={"Authorization": "Bearer rk_test_abc"}
    ).json()
    assert body["object"] == "list"
    assert body["url"] == "/v1/charges"
    assert body["has_more"] is True
    assert len(body["data"]) == 10
    assert body["data"][0]["created"] == START + 11


def test_created_filters(store: StripeStore, client: stripe.StripeClient) -> None:
    for i in range(10):
        store.create_charge(1000, created=START + 60 * i)

    def created(params: Any) -> list[int]:
        return [c.created for c in client.v1.charges.list(params).auto_paging_iter()]

    assert created({"created": {"gte": START + 120, "lt": START + 300}}) == [
        START + 240,
        START + 180,
        START + 120,
    ]
    assert created({"created": {"gt": START + 420}}) == [START + 540, START + 480]
    assert created({"created": {"lte": START + 60}}) == [START + 60, START]
    assert created({"created": START + 180}) == [START + 180]


def test_starting_after_and_ending_before(store: StripeStore, client: stripe.StripeClient) -> None:
    ids = [store.create_charge(100, created=START + i)["id"] for i in range(7)]
    newest_first = ids[::-1]

    after = client.v1.charges.list({"limit": 2, "starting_after": newest_first[2]})
    assert [c.id for c in after.data] == newest_first[3:5]
    assert after.has_more is True

    before = client.v1.charges.list({"limit": 2, "ending_before": newest_first[4]})
    assert [c.id for c in before.data] == newest_first[2:4]
    assert before.has_more is True

    last = client.v1.charges.list({"limit": 5, "starting_after": newest_first[4]})
    assert [c.id for c in last.data] == newest_first[5:]
    assert last.has_more is False

    # Paging backwards from the oldest walks every newer charge, oldest first.
    backwards = client.v1.charges.list({"limit": 2, "ending_before": ids[0]}).auto_paging_iter()
    assert [c.id for c in backwards] == ids[1:]


def test_unknown_cursor_is_an_invalid_request(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list({"starting_after": "ch_missing"})
    assert caught.value.param == "starting_after"


def test_retrieve_and_404(
    store: StripeStore, server: StripeServer, client: stripe.StripeClient
) -> None:
    charge = store.create_charge(2500, "eur", metadata={"order": "o-1"})
    got = client.v1.charges.retrieve(charge["id"])
    assert got.id == charge["id"]
    assert got.amount == 2500 and got.currency == "eur" and got.metadata["order"] == "o-1"
    assert got.balance_transaction == charge["balance_transaction"]

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve("ch_doesnotexist")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert "ch_doesnotexist" in str(caught.value.user_message)

    for kind in ("refunds", "disputes", "payouts", "balance_transactions", "events"):
        response = httpx.get(
            f"{server.url}/v1/{kind}/x_1",
            headers={"Authorization": "Bearer sk_test_1"},
        )
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_expand_balance_transaction(store: StripeStore, client: stripe.StripeClient) -> None:
    charge = store.create_charge(10_000)
    listed = client.v1.charges.list({"expand": ["data.balance_transaction"]})
    txn = listed.data[0].balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction)
    assert txn.id == charge["balance_transaction"] and txn.amount == 10_000

    one = client.v1.charges.retrieve(charge["id"], {"expand": ["balance_transaction"]})
    assert isinstance(one.balance_transaction, stripe.BalanceTransaction)
    assert (
        one.balance_transaction.net == one.balance_transaction.amount - one.balance_transaction.fee
    )

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.list({"expand": ["data.customer"]})


def test_unknown_parameter_and_bad_limit_rejected(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="unknown parameter"):
        client.v1.charges.list({"colour": "blue"})  # type: ignore[arg-type]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.list({"limit": 101})
    assert caught.value.param == "limit"


def test_auth(server: StripeServer) -> None:
    missing = httpx.get(f"{server.url}/v1/charges")
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in missing.json()["error"]["message"]

    live = stripe.StripeClient(
        "sk_live_nope", base_addresses={"api": server.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        live.v1.charges.list()


def test_rate_limit_then_recovery(store: StripeStore, server: StripeServer) -> None:
    store.create_charge(700)
    client = stripe.StripeClient(
        "sk_test_x", base_addresses={"api": server.url}, max_network_retries=0
    )
    store.fail_next(2, status=429, retry_after=3)

    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.charges.list()
    assert caught.value.http_status == 429
    body = caught.value.json_body
    assert isinstance(body, dict)
    assert body["error"]["code"] == "rate_limit"
    assert caught.value.headers is not None
    assert caught.value.headers["Retry-After"] == "3"

    raw = httpx.get(f"{server.url}/v1/charges", headers={"Authorization": "Bearer sk_test_x"})
    assert raw.status_code == 429
    assert raw.json()["error"]["code"] == "rate_limit"

    assert len(client.v1.charges.list().data) == 1


def test_event_and_balance_transaction_filters(
    store: StripeStore, client: stripe.StripeClient
) -> None:
    charge = store.create_charge(4000)
    store.refund(charge["id"], 1000)
    store.create_charge(300, succeed=False)

    refunded = client.v1.events.list({"type": "charge.refunded"}).data
    assert [e.data.object["id"] for e in refunded] == [charge["id"]]
    charge_events = {e.type for e in client.v1.events.list({"type": "charge.*"}).auto_paging_iter()}
    assert charge_events == {"charge.succeeded", "charge.refunded", "charge.failed"}

    refunds = client.v1.balance_transactions.list({"type": "refund"}).data
    assert [t.amount for t in refunds] == [-1000]
    by_source = client.v1.balance_transactions.list({"source": charge["id"]}).data
    assert [t.id for t in by_source] == [charge["balance_transaction"]]
