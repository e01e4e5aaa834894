"""The JSON API gives the dashboard's figures and rows; /metrics gives them to Prometheus."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from governor.auth.service import create_token
from governor.config import get_settings
from governor.models.types import utcnow
from governor.offers import service as offers
from governor.storage.db import session_scope
from governor.tasks import gate
from governor.web.app import create_app
from tests.factories import insert_entry, insert_task


@pytest.fixture
def api(migrated) -> TestClient:
    with session_scope() as session:
        _, token = create_token(session, name="script")
    return TestClient(create_app(get_settings()), headers={"Authorization": f"Bearer {token}"})


def test_the_overview_and_its_drill_down_to_the_stripe_ids(api, migrated):
    yesterday = utcnow() - timedelta(days=1)
    insert_entry(migrated, occurred_at=yesterday, amount_minor=4900, source_ref="ch_abc",
                 offer_id="offer_1", order_id="order_1")  # fmt: skip
    insert_entry(migrated, occurred_at=yesterday, kind="fee", amount_minor=-172,
                 source_ref="txn_abc", charge_id="ch_abc")  # fmt: skip
    insert_entry(migrated, occurred_at=yesterday, currency="eur", amount_minor=1900)
    overview = api.get("/api/overview", params={"range": "7d"}).json()
    money = {m["currency"]: m for m in overview["money"]}
    assert money["usd"]["gross_revenue"] == 4900 and money["usd"]["net_revenue"] == 4728
    assert money["eur"]["gross_revenue"] == 1900
    assert overview["period"]["grain"] == "day"
    rows = api.get("/api/ledger", params={"range": "7d", "kind": "charge", "currency": "usd"})
    assert [r["source_ref"] for r in rows.json()["rows"]] == ["ch_abc"]
    offers = api.get("/api/revenue/offers", params={"range": "7d"}).json()
    assert [(o["key"], o["currency"], o["net_revenue"]) for o in offers if o["key"]] == [
        ("offer_1", "usd", 4900)]  # fmt: skip


def test_costs_drill_from_type_to_model_to_tasks_to_spans(api, migrated):
    finished = utcnow() - timedelta(hours=2)
    task_id = insert_task(migrated, type="implement_idea", ai_model="gpt-4o",
                          cost_micros=12_000, finished_at=finished, duration_ms=900)  # fmt: skip
    [row] = api.get("/api/costs/types").json()
    assert (row["type"], row["cost_micros"]) == ("implement_idea", 12_000)
    [model] = api.get("/api/costs/models", params={"type": "implement_idea"}).json()
    assert model["ai_model"] == "gpt-4o"
    listed = api.get("/api/tasks", params={"type": "implement_idea", "ai_model": "gpt-4o",
                                           "range": "24h"}).json()  # fmt: skip
    assert [t["id"] for t in listed["rows"]] == [task_id] and listed["total"] == 1
    detail = api.get(f"/api/tasks/{task_id}").json()
    assert detail["task"]["id"] == task_id and "spans" in detail["spans"]


def test_bad_parameters_say_what_is_accepted(api):
    response = api.get("/api/overview", params={"range": "thirty days"})
    assert response.status_code == 400
    assert "24h, 7d, 30d" in response.json()["hint"]
    assert api.get("/api/tasks/task_missing").status_code == 404


def test_the_openapi_description_lists_the_api(api):
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/overview", "/api/ledger", "/api/tasks", "/api/costs/types"} <= set(paths)


def test_metrics_count_tasks_money_and_the_gate(api, migrated):
    insert_task(migrated, type="fulfill_order", status="failed", finished_at=utcnow(),
                duration_ms=1500, cost_micros=300)  # fmt: skip
    insert_task(migrated, type="fulfill_order", status="pending")
    insert_entry(migrated, amount_minor=2500)
    with session_scope() as session:
        gate.pause(session, reason="audit failed", actor="test")
    text = api.get("/metrics").text
    assert (
        'governor_tasks_finished_total{kind="agent",status="failed",type="fulfill_order"} 1.0'
        in text
    )
    assert 'governor_task_duration_seconds_total{status="failed",type="fulfill_order"} 1.5' in text
    assert 'governor_tasks_unfinished{status="pending",type="fulfill_order"} 1.0' in text
    assert 'governor_revenue_minor_total{currency="usd",figure="gross_revenue"} 2500.0' in text
    assert "governor_gate_open 0.0" in text


def test_ideas_offers_and_orders_list_and_show_with_their_links(api, migrated):
    with session_scope() as session:
        idea = offers.create_idea(session, title="SEO audit reports")
        offer = offers.create_offer(session, idea_id=idea.id, title="Audit", price_minor=4900,
                                    currency="usd")  # fmt: skip
        order = offers.create_order(session, offer_id=offer.id)
    insert_entry(migrated, order_id=order.id, offer_id=offer.id, source_ref="ch_order")
    assert [i["id"] for i in api.get("/api/ideas").json()] == [idea.id]
    assert [o["id"] for o in api.get("/api/offers", params={"idea_id": idea.id}).json()] == [
        offer.id]  # fmt: skip
    assert [o["id"] for o in api.get("/api/offers/" + offer.id).json()["orders"]] == [order.id]
    shown = api.get(f"/api/orders/{order.id}").json()
    assert [e["source_ref"] for e in shown["ledger"]] == ["ch_order"]
    assert api.get("/api/orders/order_missing").status_code == 404


def test_an_offers_status_changes_through_the_api_and_its_history_reads_back(api, migrated):
    with session_scope() as session:
        idea = offers.create_idea(session, title="SEO audits")
        offer = offers.create_offer(session, idea_id=idea.id, title="Audit", price_minor=4900,
                                    currency="usd")  # fmt: skip
    url = f"/api/offers/{offer.id}"
    moved = api.post(f"{url}/status", json={"status": "paused", "reason": "restock"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["to_status"], moved.json()["actor"]) == ("paused", "token:script")
    refused = api.post(f"{url}/status", json={"status": "draft", "reason": "undo"})
    assert refused.status_code == 400
    assert refused.json()["hint"] == "From paused it can become: live, retired."
    missing = api.post(f"{url}/status", json={"status": "live"})
    assert missing.status_code == 400 and "reason" in missing.text
    assert api.post("/api/offers/offer_nope/status",
                    json={"status": "live", "reason": "x"}).status_code == 404  # fmt: skip
    history = api.get(f"{url}/history").json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "live"), ("live", "paused")]  # fmt: skip
    assert api.get(url).json()["status"] == "paused"
    anonymous = TestClient(api.app).post(f"{url}/status", json={"status": "live", "reason": "x"})
    assert anonymous.status_code == 401
