"""Evaluate the watched series incrementally: feed each series' detector only the buckets it
has not seen, record what it flags, and keep one alert per ongoing incident."""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
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
from governor.monitors.series import DAY, READERS, Readings, Watched

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


def evaluate(session: Session, *, threshold: float, now: datetime | None = None) -> Outcome:
    """Evaluate every watched series up to the last whole bucket before `now`."""
    now = now or utcnow()
    outcome = Outcome()
    states = {state.series: state for state in session.scalars(sa.select(MonitorState))}
    for kind, (read, step) in READERS.items():
        end = floor(now, "day" if step == DAY else "hour")
        known = [s for s in states.values() if s.kind == kind]
        start = min((s.last_bucket + step for s in known), default=end - LOOKBACK[kind])
        start = max(start, end - LOOKBACK[kind])
        if start >= end:
            continue
        context = timedelta(days=CONTEXT_DAYS) if kind == "anomaly" else timedelta(0)
        readings = read(session, start - context, end)
        run = _Run(session, kind, readings, start, end, now, threshold, outcome)
        for name in sorted(set(readings.found) | {s.series for s in known}):
            run.series(name, states.get(name))
    return outcome


@dataclass
class _Run:
    """One kind's evaluation over [start, end)."""

    session: Session
    kind: str
    readings: Readings
    start: datetime
    end: datetime
    now: datetime
    threshold: float
    outcome: Outcome

    def series(self, name: str, state: MonitorState | None) -> None:
        if name in self.readings.found:
            watched = self.readings.found[name][0]
        else:
            assert state is not None
            watched = Watched(**state.state["watched"])
            self.readings.found[name] = (watched, {})
        begin = max(state.last_bucket + self.readings.step, self.start) if state else None
        points = self.readings.points(name, begin or self.start, self.end, fill_from=begin)
        detector = self._detector(watched, state)
        if self.kind == "drift":
            self._feed_drift(watched, detector, points)
        else:
            for at, value in points:
                score = detector.update(at, value)
                if score >= self.threshold:
                    self._anomaly(watched, at, value, score)
        self.outcome.series += 1
        self.outcome.points += len(points)
        saved = {"watched": asdict(watched), "detector": detector.state()}
        last = self.end - self.readings.step
        if state is None:
            name_of = "drift" if self.kind == "drift" else saved["detector"]["detector"]
            self.session.add(MonitorState(series=name, kind=self.kind, detector=name_of,
                                          state=saved, last_bucket=last))  # fmt: skip
        else:
            state.state, state.last_bucket = saved, last

    def _feed_drift(
        self, watched: Watched, detector: DriftDetector, points: list[tuple[datetime, float]]
    ) -> None:
        """Record each drift seen; alert when one is still going at the last point."""
        drift = None
        for at, value in points:
            drift = detector.update(at, value)
            if drift is not None:
                self._drift(watched, drift)
        if drift is not None and points[-1][0] >= self.end - ALERT_WITHIN["drift"]:
            self._drift_alert(watched, drift)

    def _detector(self, watched: Watched, state: MonitorState | None) -> Any:
        saved = state.state["detector"] if state else None
        if self.kind == "drift":
            return DriftDetector.from_state(saved) if saved else DriftDetector(watched.direction)
        return restore_detector(saved) if saved else make_detector(DEFAULT_DETECTOR)

    def _anomaly(self, watched: Watched, at: datetime, value: float, score: float) -> None:
        expected = self._expected(watched.name, at)
        text = anomaly_text(watched.label, watched.unit, at, value, expected, score, CONTEXT_DAYS)
        link = watched.link(at, at + self.readings.step)
        finding = _finding(self.session, watched.name, "anomaly", at)
        finding.value, finding.score, finding.explanation, finding.link = value, score, text, link
        finding.expected_low, finding.expected_high = expected or (None, None)
        self.outcome.anomalies += 1
        if at >= self.now - ALERT_WITHIN["anomaly"]:
            alert = raise_alert(
                self.session, kind="anomaly", severity=ANOMALY_SEVERITY,
                fingerprint=f"anomaly:{watched.name}", title=text,
                details={"series": watched.name, "at": at.isoformat(), "value": value,
                         "expected": list(expected) if expected else None,
                         "score": round(score, 3), "drilldown": link, "finding_id": finding.id},
            )  # fmt: skip
            finding.alert_id = alert.id
            self.outcome.alerts += 1

    def _expected(self, name: str, at: datetime) -> tuple[float, float] | None:
        """The range of the same hour on the previous days (None with fewer than three)."""
        watched, values = self.readings.found[name]
        seen = [values.get(at - k * DAY, 0.0 if watched.dense else None)
                for k in range(1, CONTEXT_DAYS + 1) if at - k * DAY >= self.start - timedelta(
                    days=CONTEXT_DAYS)]  # fmt: skip
        found = [v for v in seen if v is not None]
        return (min(found), max(found)) if len(found) >= 3 else None

    def _drift(self, watched: Watched, drift: Drift) -> None:
        finding = _finding(self.session, watched.name, "drift", drift.since)
        if finding.explanation == "":
            self.outcome.drifts += 1
        finding.value, finding.score = drift.current, 1.0
        finding.expected_low = finding.expected_high = drift.baseline
        finding.explanation = drift.describe(watched.label)
        finding.link = watched.link(drift.since, self.end)

    def _drift_alert(self, watched: Watched, drift: Drift) -> None:
        large = drift.total_change is not None and abs(drift.total_change) >= 0.5
        text = drift.describe(watched.label)
        alert = raise_alert(
            self.session, kind="drift", fingerprint=f"drift:{watched.name}",
            severity=LARGE_DRIFT_SEVERITY if large else DRIFT_SEVERITY, title=text,
            details={"series": watched.name, **drift.as_dict(),
                     "drilldown": watched.link(drift.since, self.end)},
        )  # fmt: skip
        _finding(self.session, watched.name, "drift", drift.since).alert_id = alert.id
        self.outcome.alerts += 1


def _finding(session: Session, series: str, kind: str, at: datetime) -> Finding:
    """The finding of a series at a time, made (blank) when there is none yet."""
    query = sa.select(Finding).where(Finding.series == series, Finding.kind == kind,
                                     Finding.at == at)  # fmt: skip
    found = session.scalar(query)
    if found is None:
        found = Finding(id=new_id("finding"), series=series, kind=kind, at=at, value=0.0,
                        score=0.0, explanation="")  # fmt: skip
        session.add(found)
        session.flush()
    return found
