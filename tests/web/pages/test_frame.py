"""What every page has: navigation, the closed-gate banner, alerts, static files, plotly."""

from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from governor.alerts.service import raise_alert
from governor.config import get_settings
from governor.storage.db import session_scope
from governor.tasks import gate
from governor.web.app import create_app
from tests.factories import insert_task

PAGES = ("/", "/revenue", "/costs", "/tasks", "/alerts", "/ideas", "/ledger", "/orders")


def test_a_closed_gate_shows_a_banner_on_every_page(migrated, client):
    assert 'class="gate-banner"' not in client.get("/tasks").text
    with session_scope(migrated) as session:
        gate.pause(session, reason="AI spend tripled", actor="auditor", report_id="fsar_42")
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'class="gate-banner" role="alert"' in page.text, path
        assert "AI spend tripled" in page.text and "<b>auditor</b>" in page.text
        assert "<code>governor gate resume --ack fsar_42</code>" in page.text
        assert '<a href="/tasks"' in page.text and '<a href="/ideas"' in page.text


def test_alerts_are_listed_by_status_with_a_count_in_the_navigation(migrated, client):
    with session_scope(migrated) as session:
        raise_alert(session, kind="dispute", severity=7, fingerprint="dispute:dp_1",
                    title="Dispute dp_1 on ch_1: 49.00 USD withdrawn",
                    details={"stripe_id": "dp_1", "order_id": "order_1"})  # fmt: skip
        resolved = raise_alert(session, kind="failed_charge", severity=5, fingerprint="fc:ch_2",
                               title="Charge ch_2 failed")  # fmt: skip
        resolved.status = "resolved"
    page = client.get("/alerts").text
    assert "Dispute dp_1 on ch_1: 49.00 USD withdrawn" in page and "Charge ch_2" not in page
    assert '<span class="badge" id="open-alerts">1</span>' in page
    assert 'href="/orders/order_1"' in page and "high · 7" in page
    assert "Charge ch_2 failed" in client.get("/alerts?status=resolved").text
    assert "Charge ch_2 failed" in client.get("/alerts?status=all").text
    export = client.get("/alerts?status=all&format=csv").text.splitlines()
    assert export[0].startswith("id,severity,kind,title,status,count,first_seen,last_seen")
    assert len(export) == 3
    assert client.get("/alerts?status=lost").status_code == 400


def test_plotly_is_served_from_the_installed_package_and_never_copied():
    client = TestClient(create_app(get_settings()))  # static files need no database nor sign-in
    shipped = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    plain = client.get("/static/vendor/plotly.min.js", headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and plain.content == shipped
    assert plain.headers["content-type"].startswith("text/javascript")
    zipped = client.get("/static/vendor/plotly.min.js", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == shipped
    again = client.get(
        "/static/vendor/plotly.min.js", headers={"if-none-match": plain.headers["etag"]}
    )
    assert again.status_code == 304
    assert len(shipped) > 1_000_000 and b"plotly" in shipped[:2000]  # the library, not a stub
    root = Path(__file__).parents[3]
    assert not list((root / "src").rglob("plotly*.js"))
    assert "EventSource" in client.get("/static/app.js").text
    assert ".kpi" in client.get("/static/app.css").text


def test_a_drifted_schema_is_named_instead_of_a_failure(migrated, client):
    with migrated.begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("DROP TABLE task_spans"))
    home = client.get("/")
    assert home.status_code == 200 and 'id="schema-verdict">drift<' in home.text
    assert client.get("/tasks").status_code == 200  # what still works is shown
    waterfall = client.get(f"/tasks/{insert_task(migrated)}")  # needs the dropped table
    assert waterfall.status_code == 503
    assert "The database is not ready: schema drift." in waterfall.text
    assert "task_spans" in waterfall.text and "Traceback" not in waterfall.text
