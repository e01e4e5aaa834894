"""Checkout sessions from Stripe's webhooks: one row and one order per session whatever the order
and number of deliveries, async payments, abandonment, recovery, and the charge's link."""

import importlib
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import governor.fulfilment.jobs
from governor.demo.stripe_server import StripeServer, StripeStore
from governor.models import Alert, CheckoutSession, Customer, ExecutionTask, LedgerEntry, Order
from governor.models.base import Base
from governor.offers import lifecycle
from governor.offers import service as offers
from governor.revenue import checkout_orders, sync
from governor.revenue.process import apply_events
from governor.revenue.stripe_api import iter_list, retrieve
from governor.storage.db import session_scope
from tests.revenue.conftest import deliver, process

HOUR = 3600
DAY = 24 * HOUR


def _offer(fulfilment: str | None = None, **stripe: str) -> dict[str, str]:
    with session_scope() as session:
        idea = offers.create_idea(session, title="Cover letters that land")
        offer = offers.create_offer(session, idea_id=idea.id, title="Cover letter",
                                    price_minor=2900, currency="usd", stripe=stripe)  # fmt: skip
        offer.fulfilment_type = fulfilment
        return {"offer": offer.id, "idea": idea.id}


def _rows(model: type[Base], session: Session) -> list[dict[str, Any]]:
    table = model.__table__
    rows = session.execute(select(table).order_by(*table.primary_key.columns)).mappings()
    return [dict(row) for row in rows]


def _state(session: Session) -> dict[str, Any]:
    """Sessions, orders and the ledger's links, without bookkeeping ids and times."""
    ledger = [
        (e.kind, e.source_ref, e.status, e.order_id, e.offer_id, e.idea_id, e.payment_intent_id)
        for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.kind,
                                                              LedgerEntry.source_ref))
    ]  # fmt: skip
    orders = [{k: v for k, v in row.items()} for row in _rows(Order, session)]
    return {"sessions": _rows(CheckoutSession, session), "orders": orders, "ledger": ledger}


def _events(store: StripeStore) -> list[dict[str, Any]]:
    return list(reversed(store.all("events")))  # oldest first, as Stripe sent them


def _busy_afternoon(store: StripeStore, offer_id: str) -> dict[str, str]:
    """A card sale, an async sale that settles, one that fails, an abandonment at the payment
    step and its recovery, and one abandoned before paying."""
    meta = {"offer_id": offer_id}
    card = store.open_session(2900, metadata=meta)
    store.clock.advance(60)
    store.pay_session(card["id"], email="ada@example.com", name="Ada Adler")
    late, bounced = store.open_session(2900, metadata=meta), store.open_session(2900, metadata=meta)
    store.pay_session(late["id"], "processing", email="bo@example.com")
    store.pay_session(bounced["id"], "processing", email="cy@example.com")
    store.clock.advance(2 * HOUR)
    store.settle_session(late["id"], succeeded=True)
    store.settle_session(bounced["id"], succeeded=False)
    tried = store.open_session(2900, metadata=meta, recovery=True)
    store.pay_session(tried["id"], "declined")
    never = store.open_session(2900, metadata=meta)
    store.clock.advance(HOUR)
    store.expire_session(tried["id"])
    store.expire_session(never["id"])
    store.clock.advance(HOUR)
    back = store.recover_session(tried["id"])
    store.pay_session(back["id"], email="dee@example.com")
    retried = store.open_session(2900, metadata=meta)
    store.pay_session(retried["id"], "declined")
    store.pay_session(retried["id"], email="eve@example.com")  # another card, same intent
    return {"card": card["id"], "late": late["id"], "bounced": bounced["id"],
            "tried": tried["id"], "never": never["id"], "back": back["id"],
            "retried": retried["id"]}  # fmt: skip


def test_shuffled_and_tripled_deliveries_leave_the_same_sessions_orders_and_ledger(
    migrated: Engine, store: StripeStore
) -> None:
    ids = _offer()
    _busy_afternoon(store, ids["offer"])
    events = _events(store)
    states = []
    for seed in (None, 1, 2, 3):
        queue = list(events) if seed is None else [e for e in events for _ in range(3)]
        if seed is not None:
            random.Random(seed).shuffle(queue)
        with Session(migrated) as session:  # each event handled alone, as a handler would
            for event in queue:
                apply_events(session, [event], {})
            session.flush()
            states.append(_state(session))
            session.rollback()
    assert all(state == states[0] for state in states[1:])
    assert len(states[0]["sessions"]) == 7
    assert len(states[0]["orders"]) == 5  # card, late, bounced, back, retried


def test_a_busy_afternoon_through_the_webhooks(
    migrated: Engine, stand_in: StripeServer, webhook_url: str
) -> None:
    ids = _offer()
    made = _busy_afternoon(stand_in.store, ids["offer"])
    assert set(deliver(stand_in, webhook_url, duplicates=2, shuffle=True, seed=5)) == {200}
    process(migrated)
    with session_scope(readonly=True) as session:
        rows = {r.id: r for r in session.scalars(select(CheckoutSession))}
        orders = {o.checkout_session_id: o for o in session.scalars(select(Order))}
        customers = {c.id: c for c in session.scalars(select(Customer))}
    card, late, bounced = rows[made["card"]], rows[made["late"]], rows[made["bounced"]]
    assert (card.status, card.payment_status, card.offer_id) == ("complete", "paid", ids["offer"])
    assert card.completed_at is not None and card.charge_id is not None
    assert (late.async_payment, late.payment_status) == ("succeeded", "paid")
    assert (bounced.async_payment, bounced.payment_status) == ("failed", "unpaid")
    assert orders[made["card"]].status == "paid"
    assert orders[made["card"]].id == checkout_orders.order_id_of(made["card"])
    assert orders[made["card"]].stripe_charge_id == card.charge_id
    assert customers[orders[made["card"]].customer_id].email == "ada@example.com"
    assert orders[made["late"]].status == "paid"
    assert orders[made["bounced"]].status == "failed"
    tried, never, back = rows[made["tried"]], rows[made["never"]], rows[made["back"]]
    assert (tried.status, never.status) == ("expired", "expired")
    assert tried.payment_intent_id is not None  # abandoned at the payment step
    assert never.payment_intent_id is None  # abandoned before it
    assert made["tried"] not in orders and made["never"] not in orders
    assert (back.recovered_from, back.status, orders[made["back"]].status) == (
        made["tried"], "complete", "paid")  # fmt: skip
    retried = rows[made["retried"]]
    assert orders[made["retried"]].status == "paid"
    assert orders[made["retried"]].stripe_charge_id == retried.charge_id  # the card that paid
    assert len(orders) == 5


@pytest.mark.parametrize("first", ["charge", "session"])
def test_the_charge_and_the_session_meet_whichever_arrives_first(
    migrated: Engine, stand_in: StripeServer, webhook_url: str, first: str
) -> None:
    ids = _offer()
    store = stand_in.store
    cs = store.open_session(2900, metadata={"offer_id": ids["offer"]})
    store.pay_session(cs["id"])
    events = _events(store)
    sessions = [e for e in events if e["type"].startswith("checkout.session.")]
    others = [e for e in events if e not in sessions]
    for part in (others, sessions) if first == "charge" else (sessions, others):
        deliver(stand_in, webhook_url, events=part)
        process(migrated)
    with session_scope(readonly=True) as session:
        row = session.get(CheckoutSession, cs["id"])
        assert row is not None
        order = session.get(Order, row.order_id)
        charge = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "charge")).one()
    assert order is not None and (order.status, order.stripe_charge_id) == (
        "paid",
        charge.source_ref,
    )
    assert (charge.order_id, charge.offer_id, charge.idea_id) == (
        order.id,
        ids["offer"],
        ids["idea"],
    )
    assert row.charge_id == charge.source_ref


@pytest.fixture
def fulfilment_task() -> None:
    """Fulfilment's system tasks, registered afresh (the handlers are not run here)."""
    importlib.reload(governor.fulfilment.jobs)


def test_a_paid_session_submits_its_orders_fulfilment_once(
    migrated: Engine, stand_in: StripeServer, webhook_url: str, fulfilment_task: None
) -> None:
    ids = _offer(fulfilment="file")
    store = stand_in.store
    cs = store.open_session(2900, metadata={"offer_id": ids["offer"]})
    store.pay_session(cs["id"], "processing")
    deliver(stand_in, webhook_url, duplicates=2)
    process(migrated)
    store.settle_session(cs["id"], succeeded=True)
    deliver(stand_in, webhook_url, duplicates=2, shuffle=True, seed=3)
    process(migrated)
    with session_scope(readonly=True) as session:
        tasks = session.scalars(select(ExecutionTask).where(
            ExecutionTask.type == "fulfilment.order")).all()  # fmt: skip
        order = session.get(Order, checkout_orders.order_id_of(cs["id"]))
    assert order is not None and order.status == "paid"
    assert [t.input for t in tasks] == [{"order_id": order.id}]


def test_a_retired_offers_session_still_books_its_money_and_alerts(
    migrated: Engine, stand_in: StripeServer, webhook_url: str
) -> None:
    ids = _offer()
    with session_scope() as session:
        lifecycle.set_status(session, ids["offer"], "retired", reason="sold out", actor="cli")
    store = stand_in.store
    store.clock.set(int(time.time()) + 60)  # after the retirement
    cs = store.open_session(2900, metadata={"offer_id": ids["offer"]})
    store.pay_session(cs["id"])
    events = _events(store)
    sessions = [e for e in events if e["type"].startswith("checkout.session.")]
    deliver(stand_in, webhook_url, events=[e for e in events if e not in sessions])
    process(migrated)
    deliver(stand_in, webhook_url, events=sessions)  # the charge reaches its offer only now
    process(migrated)
    with session_scope(readonly=True) as session:
        order = session.get(Order, checkout_orders.order_id_of(cs["id"]))
        alerts = session.scalars(select(Alert).where(Alert.kind == "offer_retired_sale")).all()
    assert order is not None and (order.status, order.offer_id) == ("paid", ids["offer"])
    assert [a.details["offer_id"] for a in alerts] == [ids["offer"]]


def test_sessions_find_their_offer_by_payment_link_and_customers_by_email(
    migrated: Engine, stand_in: StripeServer, webhook_url: str
) -> None:
    ids = _offer(payment_link="plink_cover_letter")
    store = stand_in.store
    first = store.open_session(2900, payment_link="plink_cover_letter")
    again = store.open_session(2900, payment_link="plink_cover_letter")
    nobody = store.open_session(2900)  # no offer to name: recorded, no order
    for cs in (first, again, nobody):
        store.pay_session(cs["id"], email="ada@example.com")
    deliver(stand_in, webhook_url)
    process(migrated)
    with session_scope(readonly=True) as session:
        orders = session.scalars(select(Order)).all()
        unknown = session.get(CheckoutSession, nobody["id"])
        customers = session.scalars(select(Customer)).all()
    assert {o.checkout_session_id for o in orders} == {first["id"], again["id"]}
    assert {o.offer_id for o in orders} == {ids["offer"]}
    assert len(customers) == 1 and {o.customer_id for o in orders} == {customers[0].id}
    assert unknown is not None and (unknown.offer_id, unknown.order_id) == (None, None)


def test_stripe_sync_backfills_sessions_older_than_stripes_events(
    migrated: Engine, stand_in: StripeServer, client: stripe.StripeClient
) -> None:
    ids = _offer()
    store = stand_in.store
    store.clock.set(int(time.time()) - 60 * DAY)  # Stripe lists no events that old
    paid = store.open_session(2900, metadata={"offer_id": ids["offer"]})
    store.pay_session(paid["id"], email="ada@example.com")
    left = store.open_session(2900, metadata={"offer_id": ids["offer"]})
    store.pay_session(left["id"], "declined")
    store.expire_session(left["id"])
    stored = sync.run(migrated, client, since=datetime.now(UTC) - timedelta(days=90))
    assert (stored["events"], stored["checkout.sessions"]) == (0, 2)
    with session_scope(readonly=True) as session:
        rows = {r.id: r for r in session.scalars(select(CheckoutSession))}
        order = session.get(Order, checkout_orders.order_id_of(paid["id"]))
    assert (rows[paid["id"]].status, rows[left["id"]].status) == ("complete", "expired")
    assert rows[left["id"]].payment_intent_id is not None
    assert order is not None and order.status == "paid"
    assert order.stripe_charge_id == rows[paid["id"]].charge_id is not None


def _api(stand_in: StripeServer) -> httpx.Client:
    return httpx.Client(base_url=stand_in.url,
                        headers={"Authorization": "Bearer sk_test_governor"})  # fmt: skip


def test_the_stand_in_serves_checkout_sessions_in_stripes_shapes(stand_in: StripeServer) -> None:
    form = {"mode": "payment", "success_url": "https://shop.example/thanks",
            "line_items[0][price_data][currency]": "usd",
            "line_items[0][price_data][unit_amount]": "2900",
            "line_items[0][price_data][product_data][name]": "Cover letter",
            "line_items[0][quantity]": "2", "metadata[offer_id]": "offer_1",
            "after_expiration[recovery][enabled]": "true"}  # fmt: skip
    with _api(stand_in) as api:
        made = api.post("/v1/checkout/sessions", data=form).json()
        assert (made["object"], made["status"], made["payment_status"]) == (
            "checkout.session", "open", "unpaid")  # fmt: skip
        assert made["id"].startswith("cs_test_") and made["url"].endswith(made["id"])
        assert (made["amount_total"], made["currency"], made["metadata"]) == (
            5800, "usd", {"offer_id": "offer_1"})  # fmt: skip
        assert made["payment_intent"] is None and made["recovered_from"] is None
        got = api.get(f"/v1/checkout/sessions/{made['id']}",
                      params={"expand[]": "line_items"}).json()  # fmt: skip
        [item] = got["line_items"]["data"]
        assert (item["price"]["unit_amount"], item["quantity"]) == (2900, 2)
        listed = api.get("/v1/checkout/sessions", params={"status": "open"}).json()
        assert [s["id"] for s in listed["data"]] == [made["id"]]
        assert listed["url"] == "/v1/checkout/sessions"
        expired = api.post(f"/v1/checkout/sessions/{made['id']}/expire").json()
        assert (expired["status"], expired["url"]) == ("expired", None)
        assert expired["after_expiration"]["recovery"]["url"].startswith("https://")
        again = api.post(f"/v1/checkout/sessions/{made['id']}/expire")
        assert again.status_code == 400 and "open" in again.json()["error"]["message"]
        no_mode = {k: v for k, v in form.items() if k != "mode"}
        priced = {**form, "line_items[0][price]": "price_x"}
        for bad, says in ((no_mode, "mode"), (priced, "No such price"),
                          ({**form, "shipping": "x"}, "unknown parameter: shipping")):  # fmt: skip
            refused = api.post("/v1/checkout/sessions", data=bad)
            assert refused.status_code == 400 and says in refused.json()["error"]["message"]
        assert api.get("/v1/checkout/sessions/cs_test_nope").status_code == 404
        assert api.get("/v1/checkout_sessions").status_code == 404  # not a Stripe path
    assert [e["type"] for e in _events(stand_in.store)] == ["checkout.session.expired"]


def test_governors_stripe_client_reads_what_the_stand_in_made(
    stand_in: StripeServer, client: stripe.StripeClient
) -> None:
    store = stand_in.store
    cs = store.open_session(1500, metadata={"offer_id": "offer_1"})
    store.pay_session(cs["id"], email="ada@example.com", name="Ada Adler")
    found = retrieve(client, "checkout.sessions", cs["id"])
    assert (found["status"], found["payment_status"]) == ("complete", "paid")
    assert found["customer_details"]["email"] == "ada@example.com"
    assert [s["id"] for s in iter_list(client, "checkout.sessions")] == [cs["id"]]
    assert [e["type"] for e in _events(store)] == [
        "charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]  # fmt: skip
    intent = store.get("payment_intents", found["payment_intent"])
    assert intent is not None and intent["latest_charge"] == store.all("charges")[0]["id"]


def test_concurrent_handlers_of_sessions_and_of_charges_link_every_order(
    migrated: Engine, store: StripeStore
) -> None:
    ids = _offer()
    made = []
    for n in range(24):
        cs = store.open_session(2900, metadata={"offer_id": ids["offer"]})
        store.pay_session(cs["id"], email=f"buyer{n}@example.com")
        made.append(cs["id"])
    events = _events(store)
    sessions = [e for e in events if e["type"].startswith("checkout.session.")]
    parts = [sessions, [e for e in events if e not in sessions]]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def handle(part: list[dict[str, Any]]) -> None:
        try:
            start.wait()
            for at in range(0, len(part), 4):  # a transaction per few, as the inbox handler
                with session_scope(migrated) as session:
                    apply_events(session, part[at : at + 4], {})
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=handle, args=(part,)) for part in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with session_scope(migrated, readonly=True) as session:
        orders = session.scalars(select(Order)).all()
        charges = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "charge")).all()
    assert sorted(o.checkout_session_id for o in orders) == sorted(made)
    assert {o.status for o in orders} == {"paid"}
    assert sorted(c.order_id for c in charges) == sorted(o.id for o in orders)


def test_a_session_naming_an_order_made_before_it_pays_that_order(
    migrated: Engine, stand_in: StripeServer, webhook_url: str
) -> None:
    ids = _offer()
    with session_scope() as session:
        made = offers.create_order(session, offer_id=ids["offer"]).id
    store = stand_in.store
    cs = store.open_session(2900, metadata={"order_id": made})
    store.pay_session(cs["id"], email="ada@example.com")
    deliver(stand_in, webhook_url, duplicates=1, shuffle=True, seed=2)
    process(migrated)
    with session_scope(readonly=True) as session:
        orders = session.scalars(select(Order)).all()
        row = session.get(CheckoutSession, cs["id"])
    assert [(o.id, o.status, o.checkout_session_id) for o in orders] == [(made, "paid", cs["id"])]
    assert row is not None and (row.order_id, row.offer_id) == (made, ids["offer"])
    assert orders[0].customer_id is not None and orders[0].stripe_payment_intent_id is not None
