"""Each fulfilment provider's health over a recent window, from the outside-call records.

A provider's calls are the HTTP spans (task_spans of kind http, one per call, retries inside)
of the tasks that ran its fulfilment steps. An error is a call that got no answer or a 5xx; the
429s are the ones the steps counted (`fulfilments.throttled`, every 429, retried or not). The
breaker state is the record replayed through the breaker itself (outbound/breaker.py, same
settings) with the calls' end times as its clock: a worker's own breaker may differ by the
calls still in flight.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.models import Fulfilment, TaskSpan
from governor.models.types import utcnow
from governor.outbound.breaker import CircuitBreaker

WINDOW = timedelta(hours=1)


class ProviderHealth(BaseModel):
    """One provider over the window: its calls, how they ended, and its breaker."""

    provider: str
    hosts: list[str]
    steps: int  # steps that started, ended or were made in the window
    calls: int
    errors: int
    error_rate: float | None
    responses_429: int
    retried_calls: int
    breaker: str | None  # closed, open, half-open; None without a call in the window
    since: datetime


def health(
    session: Session, settings: Settings, *, now: datetime | None = None,
    window: timedelta = WINDOW,
) -> list[ProviderHealth]:  # fmt: skip
    """Every provider with a step or a call in the window, by name."""
    now = now or utcnow()
    since = now - window
    touched = sa.func.coalesce(Fulfilment.finished_at, Fulfilment.started_at, Fulfilment.created_at)
    steps = {
        provider: (int(count), int(throttled or 0))
        for provider, count, throttled in session.execute(
            sa.select(Fulfilment.provider, sa.func.count(), sa.func.sum(Fulfilment.throttled))
            .where(touched >= since, touched <= now)
            .group_by(Fulfilment.provider)
        )
    }
    calls = session.execute(
        sa.select(Fulfilment.provider, TaskSpan.started_at, TaskSpan.duration_us,
                  TaskSpan.attributes)
        .join(TaskSpan, TaskSpan.task_id == Fulfilment.task_id)
        .where(TaskSpan.kind == "http", TaskSpan.started_at >= since, TaskSpan.started_at <= now)
        .distinct()
        .order_by(TaskSpan.started_at)
    ).all()  # fmt: skip
    per_provider: dict[str, list[Any]] = defaultdict(list)
    for row in calls:
        per_provider[row.provider].append(row)
    return [
        _one(name, steps.get(name, (0, 0)), per_provider.get(name, []), settings, now, since)
        for name in sorted(set(steps) | set(per_provider))
    ]


def _one(provider: str, steps: tuple[int, int], calls: list[Any], settings: Settings,
         now: datetime, since: datetime) -> ProviderHealth:  # fmt: skip
    breakers: dict[str, _Replay] = {}
    errors = retried = 0
    for call in calls:
        attributes = call.attributes or {}
        host = str(attributes.get("server.address", "?"))
        status = attributes.get("http.response.status_code")
        attempts = int(attributes.get("governor.outbound.attempts", 1) or 1)
        failed = status is None or int(status) >= 500
        errors += failed
        retried += attempts > 1
        ended = call.started_at + timedelta(microseconds=call.duration_us or 0)
        breaker = breakers.setdefault(host, _Replay(host, settings))
        breaker.record(ended, failed=failed, attempts=attempts)
    states = [b.state_at(now) for b in breakers.values()]
    worst = next((s for s in ("open", "half-open", "closed") if s in states), None)
    return ProviderHealth(
        provider=provider, hosts=sorted(breakers), steps=steps[0], calls=len(calls),
        errors=errors, error_rate=errors / len(calls) if calls else None,
        responses_429=steps[1], retried_calls=retried, breaker=worst, since=since,
    )  # fmt: skip


class _Replay:
    """A host's breaker fed with recorded outcomes at their own times."""

    def __init__(self, host: str, settings: Settings) -> None:
        self._at = 0.0
        self.breaker = CircuitBreaker(host, settings.outbound_breaker_failures,
                                      settings.outbound_breaker_reset_seconds,
                                      lambda: self._at)  # fmt: skip

    def record(self, at: datetime, *, failed: bool, attempts: int) -> None:
        """One call that ended at `at`: every attempt of a failed call failed; else it answered."""
        self._at = at.timestamp()
        if failed:
            for _ in range(attempts):
                self.breaker.record_failure()
        else:
            self.breaker.record_success()

    def state_at(self, now: datetime) -> str:
        self._at = now.timestamp()
        return self.breaker.state
