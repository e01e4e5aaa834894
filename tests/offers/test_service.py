"""The offers service on SQLite and PostgreSQL: making, paying, fulfilling, costing, reading."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.errors import BadInput, NotFound
from governor.models import LedgerEntry
from governor.offers import service
from governor.revenue import ledger
from governor.revenue.translate import EntryFact
from governor.storage.db import session_scope
from tests.factories import insert_task

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def make_order(engine: Engine, **order: object) -> dict[str, str]:
    """An idea, a live USD offer at 49.00 and a customer; an order unless told otherwise."""
    with session_scope(engine) as session:
        idea = service.create_idea(session, title="AI resume rewriter", status="live")
        offer = service.create_offer(session, idea_id=idea.id, title="Resume rewrite",
                                     price_minor=4900, currency="USD")  # fmt: skip
        customer = service.create_customer(session, name="Ada Adler", email="ada@example.com")
        made = service.create_order(session, offer_id=offer.id, customer_id=customer.id,
                                    created_at=T0, **order)  # type: ignore[arg-type]  # fmt: skip
        return {"idea": idea.id, "offer": offer.id, "customer": customer.id, "order": made.id}


def charge(ids: dict[str, str], ref: str, status: str, at: datetime) -> EntryFact:
    return EntryFact(kind="charge", source_ref=ref, amount_minor=4900, currency="usd",
                     status=status, occurred_at=at, charge_id=ref, order_id=ids["order"],
                     offer_id=ids["offer"], idea_id=ids["idea"])  # fmt: skip


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


def test_orders_follow_the_ledger(migrated: Engine):
    paid_ids, refunded_ids, disputed_ids, failed_ids = (make_order(migrated) for _ in range(4))
    with session_scope(migrated) as session:
        ledger.record_many(session, [
            ledger.Stated(charge(paid_ids, "ch_declined", "failed", T0), T0),
            ledger.Stated(charge(paid_ids, "ch_paid", "succeeded", T0 + timedelta(minutes=3)), T0),
            ledger.Stated(charge(refunded_ids, "ch_ref", "succeeded", T0), T0),
            ledger.Stated(EntryFact(kind="refund", source_ref="re_1", amount_minor=-4900,
                                    currency="usd", status="succeeded", occurred_at=T0,
                                    charge_id="ch_ref"), T0),
            ledger.Stated(charge(disputed_ids, "ch_dis", "succeeded", T0), T0),
            ledger.Stated(EntryFact(kind="dispute", source_ref="dp_1", amount_minor=-4900,
                                    currency="usd", status="needs_response", occurred_at=T0,
                                    charge_id="ch_dis"), T0),
            ledger.Stated(charge(failed_ids, "ch_no", "failed", T0), T0),
        ])  # fmt: skip
        everyone = [ids["order"] for ids in (paid_ids, refunded_ids, disputed_ids, failed_ids)]
        assert service.sync_orders_from_ledger(session, [*everyone, "order_unknown"]) == 4
        assert service.sync_orders_from_ledger(session, everyone) == 0  # nothing new
    with session_scope(migrated, readonly=True) as session:
        found = {o.id: o for o in service.list_orders(session)}
        paid = found[paid_ids["order"]]
        assert (paid.status, paid.stripe_charge_id) == ("paid", "ch_paid")
        assert paid.paid_at == T0 + timedelta(minutes=3)
        assert found[refunded_ids["order"]].status == "refunded"
        assert found[disputed_ids["order"]].status == "disputed"
        failed = found[failed_ids["order"]]
        assert (failed.status, failed.paid_at, failed.stripe_charge_id) == ("failed", None, "ch_no")
        detail = service.get_order(session, refunded_ids["order"])
        assert [(e.kind, e.source_ref) for e in detail.ledger] == [("charge", "ch_ref"),
                                                                   ("refund", "re_1")]  # fmt: skip
        assert detail.net_minor == 0


def test_events_name_their_orders_through_metadata_or_the_charge(migrated: Engine):
    ids = make_order(migrated)
    with session_scope(migrated) as session:
        ledger.record(session, charge(ids, "ch_9", "succeeded", T0), watermark=T0)
        events = [
            {"data": {"object": {"object": "charge", "id": "ch_9", "metadata": {}}}},
            {"data": {"object": {"object": "refund", "id": "re_9", "charge": "ch_9"}}},
            {"data": {"object": {"object": "charge", "id": "ch_x",
                                 "metadata": {"order_id": "order_elsewhere"}}}},
        ]  # fmt: skip
        assert service.orders_of_events(session, events) == {ids["order"], "order_elsewhere"}
        assert service.sync_orders_after_events(session, events) == 1
        assert service.get_order(session, ids["order"]).status == "paid"


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
