"""Orders follow the money: a charge, a refund or a dispute that Stripe reports settles them."""

from sqlalchemy.engine import Engine

from governor.demo.stripe_server import StripeServer
from governor.offers import service as offers
from governor.storage.db import session_scope
from tests.revenue.conftest import deliver, process


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
