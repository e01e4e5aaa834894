"""Each fulfilment provider's health over a recent window, from the outside-call records.

A fulfilment step's provider is the host its URL names (or `agent:<task type>` for an agent's
own task, which calls nothing). A provider's calls are the HTTP spans (task_spans of kind http,
one per call with its retries inside) to that host in the window; an error is a call that got
no answer or a 5xx. The 429s are those its steps counted (`fulfilments.throttled`: every 429,
retried or not) on the steps still open and those done that were made in the window. The
breaker state is the record replayed through the breaker itself (outbound/breaker.py, same
settings) with the calls' end times as its clock: a worker's own breaker may differ by the
calls still in flight. Every query is bounded by an index (spans by time, steps by status).
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
OPEN = ("pending", "running", "failed", "action_required")
"""Statuses of a step that has not ended well (the queue shows them)."""


class ProviderHealth(BaseModel):
    """One provider over the window: its open steps, its calls, how they ended, its breaker."""

    provider: str
    open_steps: int
    done_steps: int  # made in the window and done
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
    """Every provider with an open step or a step made in the window, by name."""
    now = now or utcnow()
    since = now - window
    steps: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # open, done, 429s
    for status_is_open, where in ((True, Fulfilment.status.in_(OPEN)),
                                  (False, sa.and_(Fulfilment.status == "done",
                                                  Fulfilment.created_at >= since))):  # fmt: skip
        for provider, count, throttled in session.execute(
            sa.select(Fulfilment.provider, sa.func.count(), sa.func.sum(Fulfilment.throttled))
            .where(where)
            .group_by(Fulfilment.provider)
        ):  # fmt: skip
            row = steps[provider]
            row[0 if status_is_open else 1] += int(count)
            row[2] += int(throttled or 0)
    host = TaskSpan.attributes["server.address"].as_string()
    per_host: dict[str, list[Any]] = defaultdict(list)
    if steps:
        for call in session.execute(
            sa.select(host.label("host"), TaskSpan.started_at, TaskSpan.duration_us,
                      TaskSpan.attributes)
            .where(TaskSpan.kind == "http", TaskSpan.started_at >= since,
                   TaskSpan.started_at <= now, host.in_(sorted(steps)))
            .order_by(TaskSpan.started_at, TaskSpan.id)
        ):  # fmt: skip
            per_host[call.host].append(call)
    return [
        _one(name, counts, per_host.get(name, []), settings, now, since)
        for name, counts in sorted(steps.items())
    ]


def _one(provider: str, steps: list[int], calls: list[Any], settings: Settings,
         now: datetime, since: datetime) -> ProviderHealth:  # fmt: skip
    replay = _Replay(provider, settings)
    errors = retried = 0
    for call in calls:
        attributes = call.attributes or {}
        status = attributes.get("http.response.status_code")
        attempts = int(attributes.get("governor.outbound.attempts", 1) or 1)
        failed = status is None or int(status) >= 500
        errors += failed
        retried += attempts > 1
        ended = call.started_at + timedelta(microseconds=call.duration_us or 0)
        replay.record(ended, failed=failed, attempts=attempts)
    return ProviderHealth(
        provider=provider, open_steps=steps[0], done_steps=steps[1], calls=len(calls),
        errors=errors, error_rate=errors / len(calls) if calls else None,
        responses_429=steps[2], retried_calls=retried,
        breaker=replay.state_at(now) if calls else None, since=since,
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
