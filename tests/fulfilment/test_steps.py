"""Fulfilment steps through a real provider on loopback: each step's effect happens once, 429s
and 5xx are retried, a step needing the customer waits, one failing too often asks a person."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from governor.demo.provider_server import ProviderBehaviour, ProviderServer
from governor.jobs import load
from governor.storage.db import session_scope
from governor.tasks import registry
from governor.tasks import service as tasks
from tests.conftest import Configure
from tests.fulfilment.support import alerts, an_offer, fulfilment, paid_orders, run_tasks


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    load()
    with ProviderServer(ProviderBehaviour(seed=3)) as server:
        yield server


def effects(provider: ProviderServer) -> dict[str, int]:
    return dict(provider.effects()["effects"])


def test_a_paid_order_is_delivered_once_and_fulfilled(migrated: Engine, provider: ProviderServer):
    offer = an_offer(migrated, "deliver_file", {"url": f"{provider.url}/deliveries",
                                                "file": "guide.pdf"})  # fmt: skip
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    seen = fulfilment(migrated, order)
    assert seen.order_status == "fulfilled"
    assert [(s.step, s.status, s.attempts) for s in seen.steps] == [("deliver_file", "done", 1)]
    assert seen.steps[0].idempotency_key == f"fulfil:{order}:deliver_file"
    with session_scope(migrated) as session:  # the task once more, e.g. submitted by hand
        tasks.submit(session, "fulfilment.order", {"order_id": order})
    run_tasks(migrated)
    assert effects(provider) == {f"fulfil:{order}:deliver_file": 1}
    assert provider.effects()["requests"] == 1


def test_a_licence_is_issued_then_sent_each_once(migrated: Engine, provider: ProviderServer):
    offer = an_offer(migrated, "issue_licence", {"url": f"{provider.url}/licences",
                     "email_url": f"{provider.url}/mail", "product": "pro"})  # fmt: skip
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    seen = fulfilment(migrated, order)
    assert [(s.step, s.status) for s in seen.steps] == [("issue_licence", "done"),
                                                        ("send_licence", "done")]  # fmt: skip
    assert seen.order_status == "fulfilled"
    assert effects(provider) == {f"fulfil:{order}:issue_licence": 1,
                                 f"fulfil:{order}:send_licence": 1}  # fmt: skip


def test_a_plain_api_call_needs_nothing_of_the_customer(migrated: Engine, provider: ProviderServer):
    offer = an_offer(migrated, "call_api", {"url": f"{provider.url}/hook"})
    [order] = paid_orders(migrated, offer, email=None)
    run_tasks(migrated)
    assert [(s.step, s.status) for s in fulfilment(migrated, order).steps] == [("call_api", "done")]


def test_429s_are_waited_out_as_retry_after_asks(migrated: Engine, provider: ProviderServer):
    provider.behaviour.rate_per_second = 1
    offer = an_offer(migrated, "call_api", {"url": f"{provider.url}/mail", "api": "email"})
    orders = paid_orders(migrated, offer, 3)
    run_tasks(migrated)
    steps = [fulfilment(migrated, order).steps[0] for order in orders]
    assert {(s.status, s.attempts) for s in steps} == {("done", 1)}
    answered = provider.effects()
    assert answered["throttled"] > 0
    assert sum(s.throttled for s in steps) == answered["throttled"]
    assert sorted(answered["effects"].values()) == [1, 1, 1]


def test_random_500s_are_retried_with_the_same_key(migrated: Engine, provider: ProviderServer):
    provider.behaviour.failure_rate = 0.3
    offer = an_offer(migrated, "call_api", {"url": f"{provider.url}/mail", "api": "email"})
    orders = paid_orders(migrated, offer, 8)
    run_tasks(migrated)
    assert {fulfilment(migrated, order).order_status for order in orders} == {"fulfilled"}
    answered = provider.effects()
    assert answered["failed"] > 0
    assert answered["effects"] == {f"fulfil:{order}:email": 1 for order in orders}


def test_a_missing_address_needs_the_customer_and_is_not_retried(
    migrated: Engine, provider: ProviderServer
):
    offer = an_offer(migrated, "call_api", {"url": f"{provider.url}/ship", "api": "shipping"})
    [order] = paid_orders(migrated, offer, address=None)
    run_tasks(migrated)
    [step] = fulfilment(migrated, order).steps
    assert (step.status, step.attempts) == ("action_required", 0)
    assert "address is missing" in (step.last_error or "")
    assert provider.effects()["requests"] == 0
    assert fulfilment(migrated, order).order_status == "paid"


def test_a_422_naming_the_address_needs_the_customer(migrated: Engine, provider: ProviderServer):
    provider.behaviour.require_address = True
    offer = an_offer(migrated, "call_api", {"url": f"{provider.url}/mail", "api": "email"})
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    [step] = fulfilment(migrated, order).steps
    assert (step.status, step.attempts) == ("action_required", 1)
    assert "customer's address" in (step.last_error or "")
    assert provider.effects()["requests"] == 1  # not retried


def test_a_step_failing_n_times_gives_up_and_offers_the_refund_decision(
    migrated: Engine, provider: ProviderServer, configure: Configure
):
    configure(fulfilment_max_failures=2, outbound_max_attempts=1)
    provider.behaviour.failure_rate = 1.0
    offer = an_offer(migrated, "deliver_file", {"url": f"{provider.url}/d", "file": "a.pdf"})
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    [step] = fulfilment(migrated, order).steps
    assert (step.status, step.attempts) == ("failed", 2)
    assert "HTTP 500" in (step.last_error or "")
    [alert] = alerts(migrated, "fulfilment_failed")
    assert order in alert.title and "refund" in alert.title
    assert alert.details["decision"].startswith("refund or retry")
    assert alert.details["retry"] == f"governor orders retry-fulfilment {order} deliver_file"
    assert alert.details["charge_id"] == f"ch_{order}_0"
    assert fulfilment(migrated, order).order_status == "paid"  # no money moved
    assert provider.effects()["effects"] == {}


def test_a_lost_answer_is_asked_again_and_the_provider_acts_once(
    migrated: Engine, provider: ProviderServer, configure: Configure
):
    configure(outbound_timeout_seconds=0.3)
    provider.behaviour.latency_s = 1.0  # the effect happens, the answer comes too late
    offer = an_offer(migrated, "deliver_file", {"url": f"{provider.url}/d", "file": "a.pdf"})
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    assert fulfilment(migrated, order).order_status == "fulfilled"
    assert effects(provider) == {f"fulfil:{order}:deliver_file": 1}
    assert provider.effects()["requests"] >= 2


def test_a_run_killed_after_the_provider_acted_is_run_again_with_one_effect(
    migrated: Engine, provider: ProviderServer
):
    offer = an_offer(migrated, "deliver_file", {"url": f"{provider.url}/d", "file": "a.pdf"})
    [order] = paid_orders(migrated, offer)
    key = f"fulfil:{order}:deliver_file"
    # What a run killed mid-step leaves: the provider acted; Governor wrote nothing yet.
    first = httpx.post(f"{provider.url}/d", json={"order_id": order},
                       headers={"Idempotency-Key": key}).json()  # fmt: skip
    run_tasks(migrated)
    [step] = fulfilment(migrated, order).steps
    assert (step.status, step.attempts, step.result) == ("done", 1, first)
    assert fulfilment(migrated, order).order_status == "fulfilled"
    assert effects(provider) == {key: 1}
    assert provider.effects()["replayed"] == 1


def test_an_agents_task_fulfils_and_is_waited_for(migrated: Engine):
    load()
    ran: list[str] = []

    @registry.task("test_ship_by_hand")
    def ship(ctx):  # type: ignore[no-untyped-def]
        ran.append(ctx.input["order_id"])
        return {"tracking": "TRK1"}

    try:
        offer = an_offer(migrated, "agent_task", {"task_type": "test_ship_by_hand"})
        [order] = paid_orders(migrated, offer)
        run_tasks(migrated)
        [step] = fulfilment(migrated, order).steps
        assert (step.step, step.provider, step.status) == ("agent_task", "agent:test_ship_by_hand",
                                                           "done")  # fmt: skip
        assert step.result["output"] == {"tracking": "TRK1"}
        assert ran == [order]
        assert fulfilment(migrated, order).order_status == "fulfilled"
    finally:
        registry.unregister("test_ship_by_hand")
