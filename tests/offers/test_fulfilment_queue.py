"""The fulfilment queue, the providers' health and the feedback summary, read from known rows
on both databases."""

from datetime import timedelta

from governor.config import get_settings
from governor.models.types import utcnow
from governor.offers import feedback, feedback_summary, fulfilment_queue
from governor.offers.provider_health import health
from governor.storage.db import session_scope
from tests.factories import insert_fulfilment, insert_http_span, insert_task
from tests.offers.queue_world import MIN, a_world


def _orders(world, items) -> list[str]:
    names = {v: k for k, v in world.orders.items()}
    return [names[i.order_id] for i in items]


def test_the_queue_lists_open_steps_of_paid_orders_oldest_first_with_their_state(migrated):
    world = a_world(migrated, utcnow())
    with session_scope(migrated, readonly=True) as s:
        items = fulfilment_queue.queue(s, now=world.now)
        assert _orders(world, items) == ["late", "licence", "retry", "fresh", "address"]
        by = {name: item for name, item in zip(_orders(world, items), items, strict=True)}
        assert [by[n].state for n in ("late", "licence", "retry", "fresh", "address")] == [
            "waiting", "failing", "failing", "waiting", "action_required"]  # fmt: skip
        assert [n for n, i in by.items() if i.over_sla] == ["late"]  # 180 min > 60; logo: no SLA
        assert by["retry"].step == "deliver"  # its done step is not in the queue
        assert (by["licence"].provider, by["licence"].attempts, by["licence"].last_error) == (
            "licences.example",
            5,
            "licences.example answered 500",
        )
        assert by["fresh"].step is None and by["fresh"].provider is None
        assert by["late"].age_seconds == 180 * 60
        assert by["address"].last_error == "The customer's postal address is missing"

        def names(**filters):
            return _orders(world, fulfilment_queue.queue(s, now=world.now, **filters))

        assert names(state="failing") == ["licence", "retry"]
        assert names(state="action_required") == ["address"]
        assert names(state="waiting") == ["late", "fresh"]
        assert names(state="over_sla") == ["late"]
        assert names(provider="mail.example") == ["late", "retry"]
        assert names(provider="mail.example", state="failing") == ["retry"]
        assert names(offer_id=world.logo) == ["licence", "retry"]
        assert names(limit=2, offset=1) == ["licence", "retry"]
        counts = fulfilment_queue.counts(s, now=world.now)
        assert counts.model_dump() == {"total": 5, "waiting": 2, "failing": 2,
                                       "action_required": 1, "over_sla": 1}  # fmt: skip
        assert fulfilment_queue.counts(s, provider="mail.example", now=world.now).total == 2
        # An hour later, "fresh" (paid 20 min ago) is late too; the logo offer never is.
        later = world.now + timedelta(minutes=45)
        assert _orders(world, fulfilment_queue.queue(s, state="over_sla", now=later)) == [
            "late", "fresh"]  # fmt: skip
        assert fulfilment_queue.over_sla_count(s, world.resume, now=later) == 2
        assert fulfilment_queue.over_sla_count(s, world.logo, now=later) == 0


def test_each_provider_s_last_hour_from_its_calls_with_the_breaker_they_leave(migrated, configure):
    configure(outbound_breaker_failures=5, outbound_breaker_reset_seconds=3600)
    world = a_world(migrated, utcnow())
    with session_scope(migrated, readonly=True) as s:
        rows = {h.provider: h for h in health(s, get_settings(), now=world.now)}
    assert sorted(rows) == ["licences.example", "mail.example", "ship.example"]
    lic, mail, ship = rows["licences.example"], rows["mail.example"], rows["ship.example"]
    assert (lic.open_steps, lic.calls, lic.errors, lic.error_rate) == (1, 5, 5, 1.0)
    assert (lic.responses_429, lic.breaker) == (2, "open")  # 5 failures in a row, 41 min ago
    assert (mail.open_steps, mail.calls, mail.errors, mail.responses_429) == (2, 4, 0, 1)
    assert mail.breaker == "closed"
    assert (ship.open_steps, ship.calls, ship.error_rate, ship.breaker) == (1, 0, None, None)


def test_an_open_breaker_turns_half_open_after_its_pause_then_closes(migrated, configure):
    configure(outbound_breaker_failures=3, outbound_breaker_reset_seconds=600)
    world = a_world(migrated, utcnow())
    with session_scope(migrated, readonly=True) as s:
        # The last failure was 41 minutes ago, longer than the 10-minute pause: one trial allowed.
        assert {h.provider: h.breaker for h in health(s, get_settings(), now=world.now)}[
            "licences.example"] == "half-open"  # fmt: skip
    task = insert_task(migrated, type="fulfilment.order", kind="system")
    order = world.orders["fresh"]
    insert_fulfilment(migrated, order, "licence", provider="licences.example", status="done",
                      attempts=1, task_id=task, created_at=world.now - 3 * MIN)  # fmt: skip
    insert_http_span(migrated, task, "licences.example", 200, world.now - 2 * MIN)
    with session_scope(migrated, readonly=True) as s:
        lic = {h.provider: h for h in health(s, get_settings(), now=world.now)}["licences.example"]
    assert (lic.calls, lic.errors, lic.done_steps, lic.breaker) == (6, 5, 1, "closed")


def test_feedback_per_offer_and_filtered_by_rating(migrated):
    world = a_world(migrated, utcnow())
    with session_scope(migrated, readonly=True) as s:
        summary = {o.offer_title: o for o in feedback_summary.per_offer(s)}
        assert sorted(summary) == ["Logo pack", "Resume rewrite"]
        resume, logo = summary["Resume rewrite"], summary["Logo pack"]
        assert (resume.fulfilled, resume.answers, resume.response_rate, resume.mean_rating) == (
            1, 1, 1.0, 2.0)  # fmt: skip
        assert (logo.fulfilled, logo.answers, logo.mean_rating) == (1, 1, 5.0)
        assert [o.offer_id for o in feedback_summary.per_offer(s, offer_id=world.logo)] == [
            world.logo]  # fmt: skip
        low = feedback.list_feedback(s, rating=2)
        assert [(r.order_id, r.text) for r in low] == [
            (world.orders["done"], "It arrived late and broken")]  # fmt: skip
        assert feedback.list_feedback(s, offer_id=world.logo, rating=2) == []
        names = feedback_summary.titles(s, offer_ids={world.logo}, idea_ids=set())
        assert names == {world.logo: "Logo pack"}
