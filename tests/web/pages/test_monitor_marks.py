"""What the monitors found, where a person sees it: chart marks, alert links, the API."""

import json
import re

from tests.monitors.test_evaluate import NOW, run, steady_sales_then_silence
from tests.web.pages.html import links

PERIOD = "since=2026-11-20T00:00:00Z&until=2026-11-29T00:00:00Z"


def chart(page: str, chart_id: str) -> dict:  # type: ignore[type-arg]
    found = re.search(rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>',
                      page, re.S)  # fmt: skip
    assert found, f"no {chart_id} on the page"
    return json.loads(found.group(1))


def test_anomalies_are_marked_on_the_chart_and_lead_to_their_rows(migrated, client):
    steady_sales_then_silence(migrated, silent_hours=3)
    run(NOW)
    page = client.get(f"/?{PERIOD}").text
    [mark] = [t for t in chart(page, "chart-revenue-usd")["data"] if t["name"] == "Anomaly"]
    assert mark["x"] == ["2026-11-28T00:00:00+00:00"]  # the day that holds the silent hours
    assert "Gross revenue (USD)" in mark["text"][0]
    ledger = client.get(mark["customdata"][0])
    assert ledger.status_code == 200 and "No ledger entry matches" in ledger.text  # silence

    alerts = client.get("/alerts").text
    assert any(
        href.startswith("/ledger?kinds=charge&amp;currency=usd")
        or href.startswith("/ledger?kinds=charge&currency=usd")
        for href in links(alerts)
    )

    found = client.get(f"/api/findings?{PERIOD}&series=revenue.gross.usd").json()
    assert found and all(f["kind"] == "anomaly" and f["value"] == 0 for f in found)
    assert found[0]["expected_low"] >= 9800 and found[0]["alert_id"].startswith("alert_")
