"""An alert as a notification: title, plain-text body, notify type."""

from datetime import UTC, datetime

import pytest

from governor.alerts import message
from governor.models import Alert

SEEN = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def _alert(**fields: object) -> Alert:
    values = {"id": "alert_1", "kind": "anomaly", "severity": 6, "fingerprint": "anomaly:x",
              "title": "Revenue (usd) fell to 0", "status": "open", "count": 3,
              "first_seen": SEEN, "last_seen": SEEN.replace(hour=11),
              "details": {"series": "revenue.usd", "drilldown": "/analytics?series=x",
                          "expected": [10, 20]}}  # fmt: skip
    return Alert(**{**values, **fields})


@pytest.mark.parametrize(
    ("severity", "word", "kind"),
    [(9, "critical", "failure"), (6, "high", "failure"), (5, "medium", "warning"),
     (1, "low", "info")],
)  # fmt: skip
def test_severity_words_and_types(severity: int, word: str, kind: str):
    assert message.severity_word(severity) == word
    assert message.notify_type(severity) == kind


def test_title_and_body():
    alert = _alert()
    assert message.title(alert) == "[Governor] High: Revenue (usd) fell to 0"
    assert message.body(alert).splitlines() == [
        "Revenue (usd) fell to 0",
        "",
        "Severity: 6 of 10 (high)",
        "Kind: anomaly",
        "Status: open",
        "Seen: 3 times, first 2026-11-28 09:30 UTC, last 2026-11-28 11:30 UTC",
        "Alert: alert_1",
        "Drill-down: /analytics?series=x",
        "",
        "Details:",
        "  series: revenue.usd",
        "  expected: [10, 20]",
    ]


def test_body_without_details():
    body = message.body(_alert(details=None, count=1))
    assert "Seen: 1 time," in body
    assert "Details" not in body and "Drill-down" not in body
