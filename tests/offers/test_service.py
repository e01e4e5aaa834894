"""The offers service on SQLite and PostgreSQL: making, paying, fulfilling, costing, reading."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.errors import BadInput, NotFound
from governor.models import LedgerEntry
from governor.offers import service
from governor.storage.db import session_scope
from tests.factories import T0, insert_task, make_order


def test_an_order_takes_its_offers_price_and_validates_what_it_is_given(migrated: Engine):
    ids = make_order(migrated)
    with session_scope(migrated) as session:
        order = service.get_order(session, ids["order"])
        assert (order.amount_minor, order.currency, order.status) == (4900, "usd", "pending")
        assert order.offer is not None and order.offer.idea_id == ids["idea"]
        assert order.customer is not None and order.customer.email == "ada@example.com"
        for bad, message in [
            ({"currency": "XYZ"}, "not an ISO 4217"),
            ({"currency": "dollars"}, "not an ISO 4217"),
            ({"price_minor": 0}, "positive integer in minor units"),
            ({"price_minor": 19.99}, "positive integer in minor units"),
        ]:
            args = {"idea_id": ids["idea"], "title": "x", "price_minor": 100, "currency": "eur"}
            with pytest.raises(BadInput, match=message):
                service.create_offer(session, **{**args, **bad})  # type: ignore[arg-type]
        with pytest.raises(NotFound, match="No idea idea_nope") as missing:
            service.create_offer(session, idea_id="idea_nope", title="x", price_minor=100,
                                 currency="eur")  # fmt: skip
        assert missing.value.http_status == 404
        draft = service.create_offer(session, idea_id=ids["idea"], title="Later", price_minor=900,
                                     currency="eur", status="draft")  # fmt: skip
        with pytest.raises(BadInput, match="draft; only live offers"):
            service.create_order(session, offer_id=draft.id)
        with pytest.raises(BadInput, match="Unknown order status"):
            service.list_orders(session, status="shipped")


def test_paying_fulfilling_and_costs(migrated: Engine):
    ids = make_order(migrated)
    with session_scope(migrated) as session:
        with pytest.raises(BadInput, match="only paid orders can be fulfilled"):
            service.mark_fulfilled(session, ids["order"], at=T0)
        paid = service.mark_paid(session, ids["order"], charge_id="ch_1", payment_intent_id="pi_1",
                                 at=T0 + timedelta(minutes=1))  # fmt: skip
        assert (paid.status, paid.stripe_charge_id) == ("paid", "ch_1")
        service.mark_paid(session, ids["order"], charge_id="ch_1", at=T0)  # the same: no change
        with pytest.raises(BadInput, match="already paid by ch_1, not ch_2"):
            service.mark_paid(session, ids["order"], charge_id="ch_2", at=T0)
        done = service.mark_fulfilled(session, ids["order"], at=T0 + timedelta(minutes=5))
        assert done.status == "fulfilled"
        cost = service.record_cost(session, kind="fulfilment_cost", amount_minor=350,
                                   currency="usd", occurred_at=T0 + timedelta(minutes=5),
                                   order_id=ids["order"], description="review")  # fmt: skip
        assert (cost.amount_minor, cost.source, cost.status) == (-350, "governor", "succeeded")
        with pytest.raises(BadInput, match="Unknown cost kind"):
            service.record_cost(session, kind="refund", amount_minor=1, currency="usd",
                                occurred_at=T0, description="x")  # fmt: skip
        with pytest.raises(BadInput, match="positive integer"):
            service.record_cost(session, kind="other_cost", amount_minor=-5, currency="usd",
                                occurred_at=T0, description="x")  # fmt: skip
    with session_scope(migrated, readonly=True) as session:
        row = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "fulfilment_cost"))
        assert row is not None
        # An order's cost is linked to its offer and idea too, for the ROI of each.
        links = (row.order_id, row.offer_id, row.idea_id)
        assert links == (ids["order"], ids["offer"], ids["idea"])
        assert row.watermark == row.occurred_at == T0 + timedelta(minutes=5)
        detail = service.get_order(session, ids["order"])
        assert [e.kind for e in detail.ledger] == ["fulfilment_cost"]
        assert detail.net_minor == -350


def test_lists_and_details_with_their_tasks(migrated: Engine):
    ids = make_order(migrated)
    insert_task(migrated, type="fulfill_order", order_id=ids["order"], offer_id=ids["offer"],
                idea_id=ids["idea"])  # fmt: skip
    insert_task(migrated, type="implement_idea", idea_id=ids["idea"])
    with session_scope(migrated, readonly=True) as session:
        assert [i.id for i in service.list_ideas(session, status="live")] == [ids["idea"]]
        assert service.list_ideas(session, status="retired") == []
        assert [o.id for o in service.list_offers(session, idea_id=ids["idea"])] == [ids["offer"]]
        assert [o.id for o in service.list_orders(session, idea_id=ids["idea"])] == [ids["order"]]
        assert service.list_orders(session, offer_id="offer_other") == []
        idea = service.get_idea(session, ids["idea"])
        assert [o.id for o in idea.offers] == [ids["offer"]]
        assert sorted(t.type for t in idea.tasks) == ["fulfill_order", "implement_idea"]
        offer = service.get_offer(session, ids["offer"])
        assert offer.idea is not None and offer.idea.id == ids["idea"]
        assert (offer.orders_total, offer.orders_by_status) == (1, {"pending": 1})
        assert [t.type for t in offer.tasks] == ["fulfill_order"]
        order = service.get_order(session, ids["order"])
        assert [t.type for t in order.tasks] == ["fulfill_order"]
        data = order.model_dump(mode="json")
        assert data["created_at"] == "2026-03-02T09:30:00Z" and data["tasks"][0]["cost_micros"]
        for get, missing in [(service.get_idea, "idea_x"), (service.get_offer, "offer_x"),
                             (service.get_order, "order_x")]:  # fmt: skip
            with pytest.raises(NotFound):
                get(session, missing)
