"""Friction per fulfilment provider: failures, 429s (its own count and the outbound calls that
ended on one), and 429s on the days of offer-creation peaks against the other days."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.models import Fulfilment, Offer, TaskSpan
from governor.storage.sql_pieces import tally, total, utc_day


@dataclass
class ProviderFriction:
    """One provider's fulfilment steps made in the period; `*_peak` counts only those of
    offer-creation peak days."""

    provider: str
    steps: int = 0
    first_attempt_failures: int = 0
    failures: int = 0
    action_required: int = 0
    attempts: int = 0
    throttled: int = 0  # 429s the provider answered, as the steps counted them
    calls_ended_429: int = 0  # outbound calls whose last answer was still a 429
    steps_peak: int = 0
    throttled_peak: int = 0

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.steps if self.steps else None

    @property
    def first_attempt_failure_rate(self) -> float | None:
        return self.first_attempt_failures / self.steps if self.steps else None

    @property
    def throttled_per_step(self) -> float | None:
        return self.throttled / self.steps if self.steps else None

    @property
    def throttled_per_step_peak(self) -> float | None:
        return self.throttled_peak / self.steps_peak if self.steps_peak else None

    @property
    def throttled_per_step_off_peak(self) -> float | None:
        off = self.steps - self.steps_peak
        return (self.throttled - self.throttled_peak) / off if off else None

    def to_dict(self) -> dict[str, Any]:
        names = ("failure_rate", "first_attempt_failure_rate", "throttled_per_step",
                 "throttled_per_step_peak", "throttled_per_step_off_peak")  # fmt: skip
        return {**self.__dict__, **{n: getattr(self, n) for n in names}}


def peak_days(session: Session, start: datetime, end: datetime, threshold: int) -> list[str]:
    """The UTC days of [start, end) on which at least `threshold` offers were created."""
    day = utc_day(Offer.created_at, session.get_bind().dialect.name)
    rows = session.execute(
        sa.select(day)
        .where(Offer.created_at >= start, Offer.created_at < end)
        .group_by(day)
        .having(sa.func.count() >= threshold)
        .order_by(day)
    ).scalars()
    return [str(d) for d in rows]


def provider_friction(
    session: Session, start: datetime, end: datetime, threshold: int
) -> tuple[list[ProviderFriction], list[str]]:
    """Every provider's friction over the steps made in [start, end), and the peak days."""
    peaks = peak_days(session, start, end, threshold)
    fu = Fulfilment
    on_peak = utc_day(fu.created_at, session.get_bind().dialect.name).in_(peaks) if peaks \
        else sa.false()  # fmt: skip
    in_period = sa.and_(fu.created_at >= start, fu.created_at < end)
    found: dict[str, ProviderFriction] = {}
    for (provider, steps, first, failed, action, attempts, throttled, steps_peak,
         throttled_peak) in session.execute(
        sa.select(
            fu.provider,
            sa.func.count(),
            tally(sa.or_(fu.attempts > 1, fu.status.in_(("failed", "action_required")))),
            tally(fu.status == "failed"),
            tally(fu.status == "action_required"),
            sa.func.coalesce(sa.func.sum(fu.attempts), 0),
            sa.func.coalesce(sa.func.sum(fu.throttled), 0),
            tally(on_peak),
            total(fu.throttled, on_peak),
        ).where(in_period).group_by(fu.provider).order_by(fu.provider)
    ).all():  # fmt: skip
        found[provider] = ProviderFriction(
            provider, steps, first, failed, action, int(attempts), int(throttled), 0,
            steps_peak, throttled_peak,
        )  # fmt: skip
    status = TaskSpan.attributes["http.response.status_code"].as_integer()
    for provider, ended in session.execute(
        sa.select(fu.provider, sa.func.count())
        .select_from(fu)
        .join(TaskSpan, TaskSpan.task_id == fu.task_id)
        .where(in_period, TaskSpan.kind == "http", status == 429)
        .group_by(fu.provider)
    ).all():  # fmt: skip
        if provider in found:
            found[provider].calls_ended_429 = ended
    return list(found.values()), peaks
