"""Evaluate the watched series incrementally: feed each series' detector only the buckets it
has not seen, record what it flags, and keep one alert per ongoing incident.

All reading and detecting happens in a read-only unit of work; what it found is then written
in one short transaction, so a long first evaluation never holds SQLite's write lock (nor
PostgreSQL row locks) while webhooks and tasks want to write.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.alerts.service import raise_alert
from governor.analytics.rollups import floor
from governor.detection import DEFAULT_DETECTOR, make_detector, restore_detector
from governor.detection.drift import DriftDetector
from governor.detection.drift_report import Drift
from governor.ids import new_id
from governor.models import Finding, MonitorState
from governor.models.types import utcnow
from governor.monitors.explain import anomaly_text
from governor.monitors.readers import READERS
from governor.monitors.series import DAY, Readings, Watched
from governor.storage.db import session_scope

LOOKBACK = {"anomaly": timedelta(days=28), "drift": timedelta(days=90)}
"""How far back a first evaluation (or one after a long pause) starts."""
CONTEXT_DAYS = 7
"""Days of the same hour behind an anomaly's expected range."""
ALERT_WITHIN = {"anomaly": timedelta(hours=6), "drift": timedelta(days=2)}
"""Flags older than this when first seen (a first run's backfill) are marked, not alerted."""
ANOMALY_SEVERITY, DRIFT_SEVERITY, LARGE_DRIFT_SEVERITY = 5, 4, 6


@dataclass
class Outcome:
    """What one evaluation did."""

    series: int = 0
    points: int = 0
    anomalies: int = 0
    drifts: int = 0
    alerts: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class _Saved:
    """A series' stored state, read out of its session."""

    kind: str
    state: dict[str, Any]
    last_bucket: datetime


@dataclass(frozen=True)
class _Flag:
    """A finding to write, and the alert to raise with it, if any."""

    series: str
    kind: str
    at: datetime
    values: dict[str, Any]
    alert: dict[str, Any] | None = None


@dataclass
class _Found:
    """Everything one evaluation will write."""

    states: dict[str, tuple[str, str, dict[str, Any], datetime]] = field(default_factory=dict)
    """Series → (kind, detector name, state, last bucket read)."""
    flags: dict[tuple[str, str, datetime], _Flag] = field(default_factory=dict)


def evaluate(engine: Engine, *, threshold: float, now: datetime | None = None) -> Outcome:
    """Evaluate every watched series up to the last whole bucket before `now`."""
    now = now or utcnow()
    outcome, found = Outcome(), _Found()
    with session_scope(engine, readonly=True) as session:
        saved = {
            s.series: _Saved(s.kind, s.state, s.last_bucket)
            for s in session.scalars(sa.select(MonitorState))
        }
        for kind, (read, step) in READERS.items():
            end = floor(now, "day" if step == DAY else "hour")
            known = {name: s for name, s in saved.items() if s.kind == kind}
            start = min(
                (s.last_bucket + step for s in known.values()), default=end - LOOKBACK[kind]
            )
            start = max(start, end - LOOKBACK[kind])
            if start >= end:
                continue
            context = timedelta(days=CONTEXT_DAYS) if kind == "anomaly" else timedelta(0)
            run = _Run(
                kind,
                read(session, start - context, end),
                start,
                end,
                now,
                threshold,
                outcome,
                found,
            )
            for name in sorted(set(run.readings.found) | set(known)):
                run.series(name, known.get(name))
    with session_scope(engine) as session:
        _write(session, found, outcome)
    return outcome


@dataclass
class _Run:
    """One kind's evaluation over [start, end)."""

    kind: str
    readings: Readings
    start: datetime
    end: datetime
    now: datetime
    threshold: float
    outcome: Outcome
    found: _Found

    def series(self, name: str, saved: _Saved | None) -> None:
        if name in self.readings.found:
            watched = self.readings.found[name][0]
        else:
            assert saved is not None
            watched = Watched(**saved.state["watched"])
            self.readings.found[name] = (watched, {})
        begin = max(saved.last_bucket + self.readings.step, self.start) if saved else None
        points = self.readings.points(name, begin or self.start, self.end, fill_from=begin)
        detector = self._detector(watched, saved)
        if self.kind == "drift":
            self._feed_drift(watched, detector, points)
        else:
            for at, value in points:
                score = detector.update(at, value)
                if score >= self.threshold:
                    self._anomaly(watched, at, value, score)
        self.outcome.series += 1
        self.outcome.points += len(points)
        state = {"watched": asdict(watched), "detector": detector.state()}
        name_of = "drift" if self.kind == "drift" else state["detector"]["detector"]
        self.found.states[name] = (self.kind, name_of, state, self.end - self.readings.step)

    def _feed_drift(
        self, watched: Watched, detector: DriftDetector, points: list[tuple[datetime, float]]
    ) -> None:
        """Record each drift seen; alert when one is still going at the last point."""
        drift = None
        for at, value in points:
            drift = detector.update(at, value)
            if drift is not None:
                self._drift(watched, drift, alert=False)
        if drift is not None and points[-1][0] >= self.end - ALERT_WITHIN["drift"]:
            self._drift(watched, drift, alert=True)

    def _detector(self, watched: Watched, saved: _Saved | None) -> Any:
        state = saved.state["detector"] if saved else None
        if self.kind == "drift":
            return DriftDetector.from_state(state) if state else DriftDetector(watched.direction)
        return restore_detector(state) if state else make_detector(DEFAULT_DETECTOR)

    def _anomaly(self, watched: Watched, at: datetime, value: float, score: float) -> None:
        expected = self._expected(watched.name, at)
        text = anomaly_text(watched.label, watched.unit, at, value, expected, score, CONTEXT_DAYS)
        link = watched.link(at, at + self.readings.step)
        low, high = expected or (None, None)
        alert = None
        if at >= self.now - ALERT_WITHIN["anomaly"]:
            alert = {
                "kind": "anomaly",
                "severity": ANOMALY_SEVERITY,
                "title": text,
                "fingerprint": f"anomaly:{watched.name}",
                "details": {
                    "series": watched.name,
                    "at": at.isoformat(),
                    "value": value,
                    "expected": list(expected) if expected else None,
                    "score": round(score, 3),
                    "drilldown": link,
                },
            }
        self.found.flags[watched.name, "anomaly", at] = _Flag(
            watched.name,
            "anomaly",
            at,
            {
                "value": value,
                "score": score,
                "explanation": text,
                "link": link,
                "expected_low": low,
                "expected_high": high,
            },
            alert,
        )

    def _expected(self, name: str, at: datetime) -> tuple[float, float] | None:
        """The range of the same hour on the previous days (None with fewer than three)."""
        watched, values = self.readings.found[name]
        seen = [
            values.get(at - k * DAY, 0.0 if watched.dense else None)
            for k in range(1, CONTEXT_DAYS + 1)
            if at - k * DAY >= self.start - timedelta(days=CONTEXT_DAYS)
        ]
        found = [v for v in seen if v is not None]
        return (min(found), max(found)) if len(found) >= 3 else None

    def _drift(self, watched: Watched, drift: Drift, *, alert: bool) -> None:
        text = drift.describe(watched.label)
        link = watched.link(drift.since, self.end)
        raised = None
        if alert:
            large = drift.total_change is not None and abs(drift.total_change) >= 0.5
            raised = {
                "kind": "drift",
                "fingerprint": f"drift:{watched.name}",
                "title": text,
                "severity": LARGE_DRIFT_SEVERITY if large else DRIFT_SEVERITY,
                "details": {"series": watched.name, **drift.as_dict(), "drilldown": link},
            }
        self.found.flags[watched.name, "drift", drift.since] = _Flag(
            watched.name,
            "drift",
            drift.since,
            {
                "value": drift.current,
                "score": 1.0,
                "explanation": text,
                "link": link,
                "expected_low": drift.baseline,
                "expected_high": drift.baseline,
            },
            raised,
        )


def _write(session: Session, found: _Found, outcome: Outcome) -> None:
    """Store the states and findings, and raise the alerts, in one short transaction."""
    for name, (kind, detector, state, last) in found.states.items():
        row = session.get(MonitorState, name)
        if row is None:
            session.add(
                MonitorState(
                    series=name, kind=kind, detector=detector, state=state, last_bucket=last
                )
            )
        else:
            row.state, row.last_bucket = state, last
    for flag in found.flags.values():
        finding = session.scalar(
            sa.select(Finding).where(
                Finding.series == flag.series, Finding.kind == flag.kind, Finding.at == flag.at
            )
        )
        if finding is None:
            finding = Finding(
                id=new_id("finding"), series=flag.series, kind=flag.kind, at=flag.at, **flag.values
            )
            session.add(finding)
            outcome.anomalies += flag.kind == "anomaly"
            outcome.drifts += flag.kind == "drift"
        else:
            for key, value in flag.values.items():
                setattr(finding, key, value)
        if flag.alert is not None:
            details = {**flag.alert["details"], "finding_id": finding.id}
            alert = raise_alert(session, **{**flag.alert, "details": details})
            finding.alert_id = alert.id
            outcome.alerts += 1
