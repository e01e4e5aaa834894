"""Orders follow the money (revenue/orders.py): a charge, a refund or a dispute settles them."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.demo.stripe_server import StripeServer
from governor.models import Alert
from governor.offers import lifecycle
from governor.offers import service as offers
from governor.revenue import ledger, orders
from governor.revenue.translate import EntryFact
from governor.storage.db import session_scope
from tests.factories import T0, charge_fact, make_order
from tests.revenue.conftest import START, deliver, process
from tests.revenue.conftest import ledger as ledger_rows


def test_an_orders_charge_and_refund_reach_it_through_the_webhooks(
    migrated: Engine, stand_in: StripeServer, webhook_url: str
):
    with session_scope() as session:
        idea = offers.create_idea(session, title="SEO audit reports")
        offer = offers.create_offer(session, idea_id=idea.id, title="Audit", price_minor=4900,
                                    currency="usd")  # fmt: skip
        order = offers.create_order(session, offer_id=offer.id)
    metadata = {"order_id": order.id, "offer_id": offer.id, "idea_id": idea.id}
    charge = stand_in.store.create_charge(4900, "usd", metadata=metadata)
    deliver(stand_in, webhook_url)
    process(migrated)
    with session_scope(readonly=True) as session:
        paid = offers.get_order(session, order.id)
    assert (paid.status, paid.stripe_charge_id) == ("paid", charge["id"])
    stand_in.store.refund(charge["id"])
    deliver(stand_in, webhook_url)
    process(migrated)
    with session_scope(readonly=True) as session:
        refunded = offers.get_order(session, order.id)
    assert refunded.status == "refunded"
    assert {e.kind for e in refunded.ledger} >= {"charge", "refund"}


def test_orders_follow_the_ledger(migrated: Engine):
    paid_ids, refunded_ids, disputed_ids, failed_ids = (make_order(migrated) for _ in range(4))
    with session_scope(migrated) as session:
        ledger.record_many(session, [
            ledger.Stated(charge_fact(paid_ids, "ch_declined", "failed", T0), T0),
            ledger.Stated(charge_fact(paid_ids, "ch_paid", "succeeded", T0 + timedelta(minutes=3)),
                          T0),
            ledger.Stated(charge_fact(refunded_ids, "ch_ref", "succeeded", T0), T0),
            ledger.Stated(EntryFact(kind="refund", source_ref="re_1", amount_minor=-4900,
                                    currency="usd", status="succeeded", occurred_at=T0,
                                    charge_id="ch_ref"), T0),
            ledger.Stated(charge_fact(disputed_ids, "ch_dis", "succeeded", T0), T0),
            ledger.Stated(EntryFact(kind="dispute", source_ref="dp_1", amount_minor=-4900,
                                    currency="usd", status="needs_response", occurred_at=T0,
                                    charge_id="ch_dis"), T0),
            ledger.Stated(charge_fact(failed_ids, "ch_no", "failed", T0), T0),
        ])  # fmt: skip
        everyone = [ids["order"] for ids in (paid_ids, refunded_ids, disputed_ids, failed_ids)]
        assert orders.sync_orders_from_ledger(session, [*everyone, "order_unknown"]) == 4
        assert orders.sync_orders_from_ledger(session, everyone) == 0  # nothing new
    with session_scope(migrated, readonly=True) as session:
        found = {o.id: o for o in offers.list_orders(session)}
        paid = found[paid_ids["order"]]
        assert (paid.status, paid.stripe_charge_id) == ("paid", "ch_paid")
        assert paid.paid_at == T0 + timedelta(minutes=3)
        assert found[refunded_ids["order"]].status == "refunded"
        assert found[disputed_ids["order"]].status == "disputed"
        failed = found[failed_ids["order"]]
        assert (failed.status, failed.paid_at, failed.stripe_charge_id) == ("failed", None, "ch_no")
        detail = offers.get_order(session, refunded_ids["order"])
        assert [(e.kind, e.source_ref) for e in detail.ledger] == [("charge", "ch_ref"),
                                                                   ("refund", "re_1")]  # fmt: skip
        assert detail.net_minor == 0


def test_events_name_their_orders_through_metadata_or_the_charge_fact(migrated: Engine):
    ids = make_order(migrated)
    with session_scope(migrated) as session:
        ledger.record(session, charge_fact(ids, "ch_9", "succeeded", T0), watermark=T0)
        events = [
            {"data": {"object": {"object": "charge", "id": "ch_9", "metadata": {}}}},
            {"data": {"object": {"object": "refund", "id": "re_9", "charge": "ch_9"}}},
            {"data": {"object": {"object": "charge", "id": "ch_x",
                                 "metadata": {"order_id": "order_elsewhere"}}}},
        ]  # fmt: skip
        assert orders.orders_of_events(session, events) == {ids["order"], "order_elsewhere"}
        assert orders.sync_orders_after_events(session, events) == 1
        assert offers.get_order(session, ids["order"]).status == "paid"


def test_a_sale_of_a_retired_offer_is_booked_and_raises_an_alert(
    migrated: Engine, stand_in: StripeServer, webhook_url: str
):
    start = datetime.fromtimestamp(START, UTC)
    with session_scope() as session:
        idea = offers.create_idea(session, title="SEO audit reports")
        made = [offers.create_offer(session, idea_id=idea.id, title=title, price_minor=4900,
                                    currency="usd", created_at=start - timedelta(days=2))
                for title in ("Audit v1", "Audit v2")]  # fmt: skip
        gone, later = made[0].id, made[1].id
        lifecycle.set_status(session, gone, "retired", reason="v2", at=start - timedelta(days=1))
        lifecycle.set_status(session, later, "retired", reason="v3", at=start + timedelta(days=1))
    sold = [
        stand_in.store.create_charge(4900, "usd", metadata={"offer_id": offer_id})
        for offer_id in (gone, later)
    ]  # a payment link still active in Stripe: no order here
    deliver(stand_in, webhook_url)
    process(migrated)
    stand_in.store.refund(sold[0]["id"])  # its refund is no second sale
    deliver(stand_in, webhook_url)
    process(migrated)
    with session_scope(readonly=True) as session:
        alerts = session.scalars(select(Alert)).all()
    charges = [e for e in ledger_rows(migrated) if e["kind"] == "charge"]
    assert sorted(e["offer_id"] for e in charges) == sorted([gone, later])  # money is kept
    assert [(a.kind, a.details["offer_id"]) for a in alerts] == [("offer_retired_sale", gone)]
    assert "Retired offer" in alerts[0].title and "49.00 USD" in alerts[0].title
    assert alerts[0].count == 1 and alerts[0].details["charge"] == sold[0]["id"]
