"""An alert as a notification: its title, plain-text body and Apprise notify type."""

import json
from datetime import datetime
from typing import Any

from governor.models import Alert

TITLE_PREFIX = "[Governor]"
_NOTIFY_TYPES = {"critical": "failure", "high": "failure", "medium": "warning", "low": "info"}


def severity_word(severity: int) -> str:
    """Severity (0 to 10) in a word: critical, high, medium or low."""
    if severity >= 8:
        return "critical"
    if severity >= 6:
        return "high"
    return "medium" if severity >= 4 else "low"


def notify_type(severity: int) -> str:
    """Apprise's notify type for a severity (failure, warning or info)."""
    return _NOTIFY_TYPES[severity_word(severity)]


def title(alert: Alert) -> str:
    """`[Governor] High: <the alert's title>`."""
    return f"{TITLE_PREFIX} {severity_word(alert.severity).capitalize()}: {alert.title}"


def body(alert: Alert) -> str:
    """What a person needs to act: what, how bad, how often, since when, and where to look."""
    lines = [
        alert.title,
        "",
        f"Severity: {alert.severity} of 10 ({severity_word(alert.severity)})",
        f"Kind: {alert.kind}",
        f"Status: {alert.status}",
        f"Seen: {alert.count} time{'s' if alert.count != 1 else ''}, "
        f"first {_when(alert.first_seen)}, last {_when(alert.last_seen)}",
        f"Alert: {alert.id}",
    ]
    details = alert.details
    if isinstance(details, dict) and details.get("drilldown"):
        lines.append(f"Drill-down: {details['drilldown']}")
    items = _detail_lines(details)
    if items:
        lines += ["", "Details:", *items]
    return "\n".join(lines)


def _detail_lines(details: Any) -> list[str]:
    if details is None:
        return []
    if not isinstance(details, dict):
        return [f"  {_text(details)}"]
    return [f"  {key}: {_text(value)}" for key, value in details.items() if key != "drilldown"]


def _text(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
