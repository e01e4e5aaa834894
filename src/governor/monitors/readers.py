"""How each kind of monitor reads its series, and the width of its buckets."""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from governor.monitors.friction_series import friction_days
from governor.monitors.series import DAY, HOUR, Readings, daily, hourly


def drift_days(session: Session, start: datetime, end: datetime) -> Readings:
    """Every daily leading indicator: the rollups' and the friction tables'."""
    readings = daily(session, start, end)
    friction_days(session, start, end, readings)
    return readings


READERS: dict[str, tuple[Callable[[Session, datetime, datetime], Readings], timedelta]] = {
    "anomaly": (hourly, HOUR),
    "drift": (drift_days, DAY),
}
