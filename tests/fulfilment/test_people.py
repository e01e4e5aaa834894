"""What people see and do: the SLA alert, an order's steps and a retry, by CLI and by API."""

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from governor.auth.service import create_token
from governor.config import get_settings
from governor.demo.provider_server import ProviderBehaviour, ProviderServer
from governor.jobs import load
from governor.models import Customer, Order
from governor.models.types import utcnow
from governor.offers import service as offers
from governor.storage.db import session_scope
from governor.tasks import service as tasks
from governor.web.app import create_app
from tests.conftest import Configure
from tests.fulfilment.support import alerts, an_offer, fulfilment, paid_orders, run_tasks


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    load()
    with ProviderServer(ProviderBehaviour(seed=5)) as server:
        yield server


def test_paid_orders_past_their_sla_raise_one_alert_per_offer(migrated: Engine):
    load()
    late_offer = an_offer(migrated, "deliver_file", {"url": "http://127.0.0.1:9/", "file": "f"},
                          sla=30)  # fmt: skip
    on_time = an_offer(migrated, "deliver_file", {"url": "http://127.0.0.1:9/", "file": "f"},
                       sla=600)  # fmt: skip
    with session_scope(migrated) as session:
        for offer, paid_ago in ((late_offer, 120), (late_offer, 45), (on_time, 120)):
            order = offers.create_order(session, offer_id=offer)
            offers.mark_paid(session, order.id, charge_id=f"ch_{order.id}",
                             at=utcnow() - timedelta(minutes=paid_ago))  # fmt: skip
        tasks.submit(session, "fulfilment.sla", {})  # as the scheduler does every 5 minutes
    run_tasks(migrated)
    [alert] = alerts(migrated, "fulfilment_sla")
    assert alert.fingerprint == f"fulfilment_sla:{late_offer}"
    assert alert.title.startswith(f"2 paid order(s) of offer {late_offer}")
    assert alert.details["late"] == 2 and alert.details["sla_minutes"] == 30


def test_a_person_retries_a_step_once_the_customer_gave_an_address(
    migrated: Engine, provider: ProviderServer, cli
):
    offer = an_offer(migrated, "call_api", {"url": f"{provider.url}/ship", "api": "shipping"})
    [order] = paid_orders(migrated, offer, address=None)
    run_tasks(migrated)
    shown = cli("orders", "fulfilment", order)
    assert shown.exit_code == 0 and "action_required" in shown.output
    with session_scope(migrated) as session:
        placed = session.get(Order, order)
        assert placed is not None
        customer = session.get(Customer, placed.customer_id)
        assert customer is not None
        customer.address = {"line1": "1 Quay St", "city": "Cork", "postal_code": "T12"}
    retried = cli("orders", "retry-fulfilment", order, "shipping")
    assert retried.exit_code == 0, retried.output
    run_tasks(migrated)
    steps = json.loads(cli("orders", "fulfilment", order, "--json").output)
    assert steps["order_status"] == "fulfilled"
    assert [(s["step"], s["status"]) for s in steps["steps"]] == [("shipping", "done")]
    assert provider.effects()["effects"] == {f"fulfil:{order}:shipping": 1}


def test_retrying_a_step_that_is_done_or_unknown_says_why(
    migrated: Engine, provider: ProviderServer, cli
):
    offer = an_offer(migrated, "deliver_file", {"url": f"{provider.url}/d", "file": "a.pdf"})
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    done = cli("orders", "retry-fulfilment", order, "deliver_file")
    assert done.exit_code == 2
    assert "is done; only failed or action-required steps are retried" in done.output
    unknown = cli("orders", "retry-fulfilment", order, "teleport")
    assert unknown.exit_code != 0 and "no fulfilment step 'teleport'" in unknown.output
    assert "Traceback" not in unknown.output


def test_the_api_shows_the_steps_and_retries_a_failed_one(
    migrated: Engine, provider: ProviderServer, configure: Configure
):
    configure(fulfilment_max_failures=1, outbound_max_attempts=1)
    provider.behaviour.failure_rate = 1.0
    offer = an_offer(migrated, "deliver_file", {"url": f"{provider.url}/d", "file": "a.pdf"})
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    with session_scope() as session:
        _, token = create_token(session, name="script")
    api = TestClient(create_app(get_settings()), headers={"Authorization": f"Bearer {token}"})
    shown = api.get(f"/api/orders/{order}/fulfilment").json()
    assert [(s["step"], s["status"], s["attempts"]) for s in shown["steps"]] == [
        ("deliver_file", "failed", 1)
    ]
    provider.behaviour.failure_rate = 0.0
    retried = api.post(f"/api/orders/{order}/fulfilment/deliver_file/retry")
    assert retried.status_code == 200 and retried.json()["task_id"].startswith("task_")
    assert api.post(f"/api/orders/{order}/fulfilment/deliver_file/retry").status_code == 400
    run_tasks(migrated)
    assert fulfilment(migrated, order).order_status == "fulfilled"
    assert api.get("/api/orders/order_nope/fulfilment").status_code == 404
    assert provider.effects()["effects"] == {f"fulfil:{order}:deliver_file": 1}
