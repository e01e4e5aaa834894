"""An offer's lifecycle on SQLite and PostgreSQL: its moves, their history, its task, its orders."""

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from governor.errors import BadInput, NotFound
from governor.offers import lifecycle, service
from governor.storage.db import session_scope
from governor.tracing.context import task_trace
from tests.factories import insert_task
from tests.offers.test_service import T0, make_order


def _moves(engine: Engine, offer_id: str) -> list[tuple[str | None, str, str, str | None]]:
    with session_scope(engine, readonly=True) as session:
        return [
            (c.from_status, c.to_status, c.actor, c.reason)
            for c in lifecycle.history(session, offer_id)
        ]


def test_an_offer_moves_only_along_its_lifecycle_and_each_move_is_recorded(migrated: Engine):
    ids = make_order(migrated)
    with session_scope(migrated) as session:
        draft = service.create_offer(session, idea_id=ids["idea"], title="Later", price_minor=900,
                                     currency="eur", status="draft", actor="user:ada",
                                     created_at=T0)  # fmt: skip
        steps = [("live", "launch"), ("paused", "supplier late"), ("live", "back"),
                 ("retired", "replaced by v2")]  # fmt: skip
        for n, (status, reason) in enumerate(steps, start=1):
            lifecycle.set_status(session, draft.id, status, reason=reason, actor="cli",
                                 at=T0 + timedelta(hours=n))  # fmt: skip
        with pytest.raises(BadInput, match="before its last change"):
            lifecycle.set_status(session, ids["offer"], "paused", reason="x", at=T0 - timedelta(1))
        for status in ("live", "paused", "draft"):
            with pytest.raises(BadInput, match="is retired; it cannot become") as final:
                lifecycle.set_status(session, draft.id, status, reason="again")
            assert "retired is final" in (final.value.hint or "")
        with pytest.raises(BadInput, match="Unknown offer status 'sold'"):
            lifecycle.set_status(session, ids["offer"], "sold", reason="x")
        with pytest.raises(BadInput, match="cannot become draft") as back:
            lifecycle.set_status(session, ids["offer"], "draft", reason="x")
        assert back.value.hint == "From live it can become: paused, retired."
        with pytest.raises(BadInput, match="needs a reason"):
            lifecycle.set_status(session, ids["offer"], "paused", reason="  ")
        with pytest.raises(NotFound, match="No offer offer_nope"):
            lifecycle.set_status(session, "offer_nope", "live", reason="x")
        with pytest.raises(BadInput, match="Unknown new offer status 'retired'"):
            service.create_offer(session, idea_id=ids["idea"], title="x", price_minor=100,
                                 currency="eur", status="retired")  # fmt: skip
    assert _moves(migrated, draft.id) == [
        (None, "draft", "user:ada", "created"),
        ("draft", "live", "cli", "launch"),
        ("live", "paused", "cli", "supplier late"),
        ("paused", "live", "cli", "back"),
        ("live", "retired", "cli", "replaced by v2"),
    ]
    assert _moves(migrated, ids["offer"]) == [(None, "live", "system", "created")]
    with session_scope(migrated, readonly=True) as session:
        shown = service.get_offer(session, draft.id)
    assert shown.status == "retired" and [h.to_status for h in shown.history][-1] == "retired"


def test_an_offer_made_inside_a_task_names_the_task(migrated: Engine):
    ids = make_order(migrated)
    task_id = insert_task(migrated, type="create_offer")
    with task_trace(task_id, "create_offer"), session_scope(migrated) as session:
        made = service.create_offer(session, idea_id=ids["idea"], title="Express",
                                    price_minor=1900, currency="usd", status="draft")  # fmt: skip
        lifecycle.set_status(session, made.id, "live", reason="priced")
    with session_scope(migrated, readonly=True) as session:
        offer = service.get_offer(session, made.id)
        assert offer.created_by_task_id == task_id
        assert [t.id for t in offer.tasks] == [task_id]  # the offer lists the task that made it
        assert [(h.actor, h.task_id) for h in offer.history] == [(f"task:{task_id}", task_id)] * 2
        assert service.get_offer(session, ids["offer"]).created_by_task_id is None


def test_a_retired_offer_takes_no_new_orders_but_its_old_ones_still_settle(migrated: Engine):
    ids = make_order(migrated)
    with session_scope(migrated) as session:
        lifecycle.set_status(session, ids["offer"], "paused", reason="restock")
        service.create_order(session, offer_id=ids["offer"])  # paused: still sells at its price
        lifecycle.set_status(session, ids["offer"], "retired", reason="discontinued")
        for amount in (None, 4900):
            with pytest.raises(BadInput, match="is retired; it takes no new orders"):
                service.create_order(session, offer_id=ids["offer"], amount_minor=amount)
        paid = service.mark_paid(session, ids["order"], charge_id="ch_old", at=T0)
        assert paid.status == "paid"
    with session_scope(migrated, readonly=True) as session:
        assert service.get_offer(session, ids["offer"]).orders_total == 2


def test_stripe_references_are_kept_and_checked(migrated: Engine):
    ids = make_order(migrated)
    refs = {"product": "prod_Q1", "price": "price_Q1", "payment_link": "plink_Q1"}
    with session_scope(migrated) as session:
        made = service.create_offer(session, idea_id=ids["idea"], title="Linked", price_minor=500,
                                    currency="usd", stripe=refs)  # fmt: skip
        lifecycle.set_stripe_refs(session, made.id, price="price_Q2")
        for bad in ({"product": "price_Q1"}, {"payment_link": "https://buy.stripe.com/x"}):
            with pytest.raises(BadInput, match="is not a Stripe"):
                lifecycle.set_stripe_refs(session, made.id, **bad)
    with session_scope(migrated, readonly=True) as session:
        shown = service.get_offer(session, made.id)
    assert (shown.stripe_product_id, shown.stripe_price_id, shown.stripe_payment_link_id) == (
        "prod_Q1",
        "price_Q2",
        "plink_Q1",
    )
