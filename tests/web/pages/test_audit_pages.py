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


def test_the_largest_report_the_store_accepts_renders_a_bounded_page(migrated, client):
    from datetime import UTC, datetime

    import pytest

    from governor.audits.fsar import (
        MAX_FINDINGS,
        MAX_FINDINGS_BYTES,
        MAX_ITEM_CHARS,
        MAX_ITEMS,
        MAX_PROPOSAL_CHARS,
        FsarReport,
        new_report_id,
    )
    from governor.audits.service import store
    from governor.errors import BadInput

    words = "Text of an oversized report. " * (MAX_PROPOSAL_CHARS // 29)
    finding = {"name": "check", "passed": False, "severity": 5}
    summary = "s" * (MAX_FINDINGS_BYTES // MAX_FINDINGS - 120)
    report = FsarReport(
        id=new_report_id(),
        timestamp=datetime(2026, 3, 4, tzinfo=UTC),
        severity=5,
        block_execution=False,
        proposal=words.strip(),
        risks=tuple(f"risk {i} " + "r" * (MAX_ITEM_CHARS - 12) for i in range(MAX_ITEMS)),
        mitigations=tuple(f"step {i} " + "m" * (MAX_ITEM_CHARS - 12) for i in range(MAX_ITEMS)),
        findings=tuple({**finding, "summary": summary} for _ in range(MAX_FINDINGS)),
    )
    with pytest.raises(BadInput):  # anything larger is refused before it reaches the store
        FsarReport(**{**report.__dict__, "proposal": words * 2})
    with session_scope() as session:
        store(session, report, origin="import", passed=False)
    page = client.get(f"/audits/{report.id}")
    assert page.status_code == 200 and "risk 99 " in page.text and summary in page.text
    assert len(page.content) < 2_000_000  # the report's 1.3 MB of text, and the page around it
