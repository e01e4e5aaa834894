"""Overview, revenue, ledger, offer and order pages: the figures and the rows behind them."""

import csv
import io
from urllib.parse import parse_qs, urlsplit

from governor.offers import lifecycle
from governor.offers import service as offers
from governor.storage.db import session_scope
from governor.tracing.context import task_trace
from tests.factories import insert_task
from tests.web.pages.data import a_business
from tests.web.pages.html import footer, kpi, link_to, links, table, timeline


def query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def test_the_overview_shows_kpis_with_their_change_and_drills_down_to_stripe_ids(migrated, client):
    biz = a_business(migrated)
    page = client.get("/").text
    gross = kpi(page, "gross_revenue_usd")
    assert gross["value"] == "$98.00"
    assert gross["change"] == "▲ +100%"
    assert urlsplit(gross["href"]).path == "/ledger"
    assert query(gross["href"]) == {"kinds": ["charge"], "currency": ["usd"], "range": ["30d"],
                                    "grain": ["day"]}  # fmt: skip
    net = kpi(page, "net_revenue_usd")
    assert net["value"] == "$47.28"  # 98.00 - 49.00 refunded - 1.72 fee
    assert net["change"] == "▼ -3.5%"  # against 49.00 the period before
    assert kpi(page, "net_income_usd")["value"] == "$47.27"  # less 0.0064 of AI, rounded
    assert kpi(page, "ai_cost")["value"] == "$0.0064"
    assert kpi(page, "failed_charges_usd")["value"] == "1"
    assert kpi(page, "gross_revenue_eur")["value"] == "€19.00"
    assert 'data-chart="chart-revenue-usd-data"' in page
    assert '<script type="application/json" id="chart-ai-data">' in page
    assert '<script src="/static/vendor/plotly.min.js" defer></script>' in page

    ledger = client.get(gross["href"]).text  # the charges behind the figure, with Stripe ids
    rows = table(ledger, "ledger")
    assert sorted(r[4] for r in rows) == ["ch_failed_3", "ch_paid_1", "ch_paid_2"]
    assert ('<tr class="uncounted">' in ledger) and "failed" in ledger
    assert f"/orders/{biz.order_id}" in links(ledger)

    statement = table(page, "statement")
    assert ["USD", "Refunds", "-$49.00", "$0.00", "new"] in statement


def test_revenue_by_offer_leads_to_the_offer_its_orders_and_their_stripe_ids(migrated, client):
    biz = a_business(migrated)
    page = client.get("/revenue?range=7d").text
    rows = table(page, "offers")
    pro = next(r for r in rows if r[0] == "Invoice Parser Pro" and r[2] == "USD")
    assert pro[3:9] == ["2", "$98.00", "-$49.00", "-$1.72", "$47.28", "$0.00"]  # no disputes
    assert footer(page, "offers")[0][:5] == ["Total", "", "EUR", "1", "€19.00"]
    offer_href = link_to(page, "Invoice Parser Pro")
    assert offer_href == f"/offers/{biz.offer_id}?range=7d&grain=day"

    offer = client.get(offer_href).text
    assert "Invoice Parser Pro" in offer and "$49.00" in offer
    order_href = next(h for h in links(offer) if h.startswith("/orders/"))
    assert order_href == f"/orders/{biz.order_id}"
    order = client.get(order_href).text
    entries = table(order, "ledger")
    assert [(r[1], r[3], r[4]) for r in entries] == [
        ("charge", "$49.00", "ch_paid_1"), ("fee", "-$1.72", "txn_paid_1")]  # fmt: skip
    assert "Ada" in order and "ada@example.com" in order
    assert f"/tasks/{biz.task_id}" in links(order)

    idea = client.get(f"/ideas/{biz.idea_id}").text
    assert "Invoice parser" in idea and f"/offers/{biz.eur_offer_id}" in links(idea)
    ideas = client.get("/ideas").text
    assert table(ideas, "ideas")[0][:2] == ["Invoice parser", "live"]


def test_every_table_exports_as_csv(migrated, client):
    biz = a_business(migrated)
    response = client.get("/revenue?format=csv&table=ideas")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="governor-revenue-ideas-'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    usd = next(r for r in rows if r["currency"] == "USD")
    assert (usd["key"], usd["gross_revenue"], usd["net_revenue"]) == (biz.idea_id, "98.00", "47.28")

    ledger = list(csv.DictReader(io.StringIO(
        client.get("/ledger?kinds=charge,refund&currency=usd&format=csv").text)))  # fmt: skip
    assert {r["source_ref"]: r["amount_minor"] for r in ledger} == {
        "ch_paid_1": "49.00", "ch_paid_2": "49.00", "ch_failed_3": "49.00",
        "re_back_2": "-49.00", "ch_before": "49.00"}  # fmt: skip

    page = client.get("/ledger?currency=usd").text
    assert "/ledger?currency=usd&format=csv&table=ledger" in links(page)
    refused = client.get("/revenue?format=csv&table=nope")
    assert refused.status_code == 400
    assert "This page has no table &#39;nope&#39;." in refused.text


def test_an_offers_page_shows_its_status_timeline_and_the_task_that_made_it(migrated, client):
    biz = a_business(migrated)
    task_id = insert_task(migrated, type="create_offer")
    with task_trace(task_id, "create_offer"), session_scope() as session:
        made = offers.create_offer(session, idea_id=biz.idea_id, title="Invoice Parser Max",
                                   price_minor=9900, currency="usd", status="draft",
                                   stripe={"payment_link": "plink_max"})  # fmt: skip
    with session_scope() as session:
        lifecycle.set_status(session, made.id, "live", reason="launch", actor="user:ada")
        lifecycle.set_status(session, made.id, "retired", reason="too dear", actor="user:ada")
    page = client.get(f"/offers/{made.id}").text
    assert timeline(page) == [
        ["created as draft", f"by task:{task_id}", "created"],
        ["draft → live", "by user:ada", "launch"],
        ["live → retired", "by user:ada", "too dear"],
    ]
    assert f"/tasks/{task_id}" in links(page) and "plink_max" in page
