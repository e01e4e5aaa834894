"""The period a page or an API call asks about: a range like `30d`, or since/until, and a grain."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from governor.errors import BadInput
from governor.models.types import utcnow

GRAINS = ("hour", "day", "week", "month")
_RANGE = re.compile(r"^(\d{1,4})([hdwm])$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
         "m": timedelta(days=30)}  # fmt: skip
DEFAULT_RANGE = "30d"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, cut into buckets of `grain`."""

    start: datetime
    end: datetime
    grain: str
    range: str | None = None

    def previous(self) -> "Period":
        """The same span shifted back by its length in whole buckets (today so far → the same
        hours of the day one period ago), so that buckets line up."""
        unit = timedelta(hours=1) if self.grain == "hour" else timedelta(days=1)
        shift = -((self.start - self.end) // unit) * unit  # the length, rounded up to units
        return Period(self.start - shift, self.end - shift, self.grain)

    def query(self) -> dict[str, str]:
        """The query-string parameters that ask for this period again."""
        if self.range:
            return {"range": self.range, "grain": self.grain}
        return {"since": self.start.isoformat(), "until": self.end.isoformat(),
                "grain": self.grain}  # fmt: skip

    def to_dict(self) -> dict[str, str | None]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "grain": self.grain, "range": self.range}  # fmt: skip


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def parse_period(
    *,
    range: str | None = None,
    since: str | None = None,
    until: str | None = None,
    grain: str | None = None,
    now: datetime | None = None,
) -> Period:
    """Read a period from query parameters; bad values raise BadInput saying what is accepted."""
    now = now or utcnow()
    if grain is not None and grain not in GRAINS:
        raise BadInput(f"unknown grain {grain!r}", hint=f"use one of: {', '.join(GRAINS)}")
    if since or until:
        start = _instant(since, "since") if since else None
        end = _instant(until, "until") if until else now
        start = start or end - timedelta(days=30)
        if start >= end:
            raise BadInput(f"since ({start.isoformat()}) is not before until ({end.isoformat()})",
                           hint="give an earlier since or a later until")  # fmt: skip
        return Period(start, end, grain or _grain_for(end - start))  # exactly as asked
    text = (range or DEFAULT_RANGE).strip().lower()
    match = _RANGE.match(text)
    if not match or int(match.group(1)) == 0:
        raise BadInput(f"unknown range {range!r}",
                       hint="use a number and a unit: 24h, 7d, 30d, 12w, 6m")  # fmt: skip
    length = int(match.group(1)) * _UNIT[match.group(2)]
    if length > timedelta(days=3660):
        raise BadInput(f"range {range!r} is longer than ten years", hint="ask for less")
    chosen = grain or _grain_for(length)
    if chosen == "hour" and length > timedelta(days=31):
        raise BadInput("hourly buckets are offered for ranges up to 31 days",
                       hint="use grain=day for longer ranges")  # fmt: skip
    return _aligned(now - length, now, chosen, text)


def _grain_for(length: timedelta) -> str:
    if length <= timedelta(days=2):
        return "hour"
    return "day" if length <= timedelta(days=92) else "week"


def _aligned(start: datetime, end: datetime, grain: str, text: str | None) -> Period:
    """A range starts on the hour, or at midnight for daily and coarser buckets: `30d` is
    today so far and the 29 whole days before it."""
    if grain == "hour":
        return Period(start.replace(minute=0, second=0, microsecond=0), end, grain, text)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return Period(midnight + timedelta(days=1), end, grain, text)


def _instant(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"{name}={text!r} is not a date or time",
            hint="use ISO 8601, e.g. 2026-11-01 or 2026-11-01T12:00:00Z",
        ) from None
    if not EARLIEST.year <= value.year < LATEST.year:  # nearer datetime's ends, buckets overflow
        raise BadInput(f"{name}={text!r} is outside the years Governor keeps",
                       hint=f"use a time from {EARLIEST.year} to {LATEST.year - 1}")  # fmt: skip
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bucket_of(moment: datetime, grain: str) -> datetime:
    """The start of the bucket of `grain` that holds `moment` (weeks start on Monday)."""
    if grain == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day
