"""Audit pages: the reports with their trend, one report's checks, and reopening the gate."""

from governor.audits.service import run_audit
from governor.config import get_settings
from governor.storage.db import session_scope
from governor.tasks import gate
from tests.web.pages.html import links


def test_a_failing_audit_shows_in_the_banner_list_and_detail_and_a_person_reopens_the_gate(
    migrated, client
):
    with migrated.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE execution_tasks DROP COLUMN order_id")
    audit = run_audit(migrated, get_settings())
    with migrated.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE execution_tasks ADD COLUMN order_id VARCHAR(40)")
    report_id = audit.report.id
    assert f'id="last-audit"><a href="/audits/{report_id}"' in client.get("/?range=7d").text
    listing = client.get("/audits").text
    assert f"/audits/{report_id}" in links(listing) and 'id="chart-audits-data"' in listing
    page = client.get(f"/audits/{report_id}").text
    assert "Execution gate closed" in page and f'href="/audits/{report_id}"' in page  # banner
    assert 'id="block">true<' in page and "execution_tasks.order_id" in page
    markdown = client.get(f"/audits/{report_id}.md").text
    assert markdown.startswith("# FSAR Proposal Report\n- id: " + report_id)
    csv = client.get(f"/audits/{report_id}?format=csv&table=checks").text
    assert csv.startswith("name,passed,severity") and "schema,failed,9" in csv
    refused = client.post("/gate/resume", data={"ack": "fsar_wrong", "reason": "x"})
    assert refused.status_code == 400 and report_id in refused.text
    with session_scope(readonly=True) as session:
        assert not gate.status(session).open
    done = client.post(
        "/gate/resume",
        data={"ack": report_id, "reason": "schema repaired", "next": "/audits"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/audits"
    with session_scope(readonly=True) as session:
        state = gate.status(session)
    assert state.open and state.reason == "schema repaired" and state.report_id == report_id
