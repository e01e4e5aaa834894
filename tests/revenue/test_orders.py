"""Orders follow the money: a charge, a refund or a dispute that Stripe reports settles them."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.demo.stripe_server import StripeServer
from governor.models import Alert
from governor.offers import lifecycle
from governor.offers import service as offers
from governor.storage.db import session_scope
from tests.revenue.conftest import START, deliver, ledger, process


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
    charges = [e for e in ledger(migrated) if e["kind"] == "charge"]
    assert sorted(e["offer_id"] for e in charges) == sorted([gone, later])  # money is kept
    assert [(a.kind, a.details["offer_id"]) for a in alerts] == [("offer_retired_sale", gone)]
    assert "Retired offer" in alerts[0].title and "49.00 USD" in alerts[0].title
    assert alerts[0].count == 1 and alerts[0].details["charge"] == sold[0]["id"]
