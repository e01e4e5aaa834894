"""A drift finding and its plain-English description."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

Side = Literal["up", "down"]
Kind = Literal["trend", "level"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Drift:
    """A lasting change of a series: which way, since when, from what level to what, how fast.

    `total_change` and `rate_per_day` are relative to the baseline (0.38 = +38 %, per day of
    real time); both are None when the baseline is 0, where only the absolute `change` and
    `slope_per_day` mean something. A "level" change has no slope, so no rate either.
    `points` counts the points since the change began.
    """

    direction: Side
    kind: Kind
    since: datetime
    baseline: float
    current: float
    change: float
    slope_per_day: float | None
    total_change: float | None
    rate_per_day: float | None
    points: int

    def describe(self, series_name: str) -> str:
        """One sentence, e.g. 'implement_idea p95 up 4.0%/day since 3 Nov, +38% in total'."""
        since = format_time(self.since)
        levels = f"from {format_level(self.baseline)} to {format_level(self.current)}"
        if self.kind == "trend":
            total = levels if self.total_change is None else f"{self._signed_total()} in total"
            return f"{series_name} {self.direction} {self._speed()} since {since}, {total}"
        by = "" if self.total_change is None else f" by {format_percent(self.total_change)}"
        return f"{series_name} stepped {self.direction}{by} since {since} ({levels})"

    def as_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready values, `since` in ISO 8601."""
        return {**asdict(self), "since": self.since.isoformat()}

    def _speed(self) -> str:
        if self.rate_per_day is None:
            return f"{format_level(abs(self.slope_per_day or 0.0))}/day"
        return f"{format_percent(self.rate_per_day)}/day"

    def _signed_total(self) -> str:
        change = self.total_change or 0.0
        return ("+" if change >= 0 else "-") + format_percent(change)


def format_percent(fraction: float) -> str:
    """The size of a relative change: 0.38 -> '38%', 0.04 -> '4.0%', 0.0045 -> '0.45%'."""
    percent = abs(fraction) * 100
    if percent >= 10:
        return f"{percent:.0f}%"
    if percent >= 1:
        return f"{percent:.1f}%"
    return f"{percent:.2g}%"


def format_level(value: float) -> str:
    """A level to three significant digits, whole numbers with separators from 1,000."""
    if abs(value) >= 999.5:  # what rounds to 1,000 or more: never "1e+03"
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    return "0" if text == "-0" else text


def format_time(moment: datetime) -> str:
    """'3 Nov', with the time of day when it is not midnight: '3 Nov 14:00'."""
    day = f"{moment.day} {_MONTHS[moment.month - 1]}"
    return day if (moment.hour, moment.minute) == (0, 0) else f"{day} {moment:%H:%M}"
