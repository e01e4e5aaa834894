"""Governor's own periodic work: `@system_task(TYPE, every="1d")` and the enqueuing of due runs.

Each run of a schedule gets the idempotency key `schedule:TYPE:SLOT` (the slot is the start
of its period), so however many schedulers run at once, a period's run is submitted once.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from governor.config import Settings
from governor.errors import ConfigError
from governor.tasks import registry, service
from governor.tasks.registry import Handler, TaskSpec

Every = str | Callable[[Settings], str]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Schedule:
    """A system task type and how often it runs (a period, or a setting naming one)."""

    type: str
    every: Every

    def period(self, settings: Settings) -> timedelta | None:
        """How often it runs; None when its setting says `off`."""
        text = self.every(settings) if callable(self.every) else self.every
        return None if text.strip().lower() == "off" else parse_period(text, self.type)


_schedules: dict[str, Schedule] = {}


def parse_period(text: str, what: str = "period") -> timedelta:
    """'30s', '15m', '1h', '1d' as a timedelta; ConfigError for anything else."""
    match = _PATTERN.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(
            f"{what}: '{text}' is not a period.",
            hint="Write a number and a unit: 30s, 15m, 1h, 1d.",
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def system_task(
    type: str,
    *,
    every: Every | None = None,
    max_attempts: int = 3,
    timeout: float | None = 600.0,
    concurrency: int | None = None,
    backoff: float = 5.0,
) -> Callable[[Handler], Handler]:
    """Register Governor's own work (kind 'system': it runs while the gate holds the agents)."""

    def decorate(handler: Handler) -> Handler:
        registry.register(TaskSpec(type, handler, "system", max_attempts, timeout, None, backoff))
        if every is not None:
            _schedules[type] = Schedule(type, every)
        return handler

    return decorate


def schedules() -> list[Schedule]:
    """Every periodic system task."""
    return list(_schedules.values())


def slot_start(now: datetime, period: timedelta) -> datetime:
    """The start of the period `now` falls in (periods count from the Unix epoch, UTC)."""
    seconds = int(period.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)


def enqueue_due(session: Session, settings: Settings, now: datetime) -> list[str]:
    """Submit the current period's run of every schedule (a no-op for runs already there)."""
    submitted = []
    for schedule in schedules():
        period = schedule.period(settings)
        if period is None:
            continue
        slot = slot_start(now, period).isoformat()
        submitted.append(
            service.submit(session, schedule.type, {"scheduled_for": slot},
                           idempotency_key=f"schedule:{schedule.type}:{slot}")
        )  # fmt: skip
    return submitted
