"""Slow drift detection: a robust CUSUM flags a lasting change of level or trend in a series."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import median
from typing import Any, Literal

from governor.detection.drift_baseline import Baseline
from governor.detection.drift_report import Drift
from governor.detection.drift_stats import TINY, clipped, fit_line, fit_onset, shape

__all__ = ["Direction", "Drift", "DriftConfig", "DriftDetector"]

Direction = Literal["up", "down", "both"]

STATE_VERSION = 1
MAX_STEP = 1.5  # most evidence one point adds: a lone outlier never makes a drift
MAX_FALL = 3.0  # most evidence one point takes away: nor does it end one
MAX_STAT = 2.0  # times the threshold: a CUSUM forgets an old run after a return to normal
MIN_TREND_POINTS = 4  # fewer points since the onset are a level, whatever their shape


@dataclass(frozen=True)
class DriftConfig:
    """Global tuning in relative terms; the defaults suit any daily or hourly business series.

    `threshold` and `slack` are in robust standard deviations of the baseline: a lower
    threshold is more sensitive. The slack is at least half of `min_change` too, so changes too
    small to report add no evidence. One point adds at most MAX_STEP: a drift takes at least
    threshold / MAX_STEP points (6 by default) after the baseline's `min_points`.
    """

    min_points: int = 7  # cold start: the first points only form the baseline
    baseline_points: int = 42  # the baseline grows to this many quiet points
    window: int = 60  # recent points kept to estimate a drift
    min_change: float = 0.10  # smallest relative change worth reporting
    threshold: float = 8.0  # CUSUM decision interval
    slack: float = 0.75  # CUSUM reference value, half the smallest shift worth detecting

    def __post_init__(self) -> None:
        if not 2 <= self.min_points <= self.baseline_points:
            raise ValueError("need 2 <= min_points <= baseline_points")
        if self.window < self.min_points:
            raise ValueError("window is too short")
        if min(self.min_change, self.threshold, self.slack) <= 0:
            raise ValueError("min_change, threshold and slack must be > 0")


@dataclass
class _Run:
    """One side's CUSUM, or (for an open incident) its recovery statistic."""

    sign: int
    stat: float = 0.0
    start: int = 0  # index of the run's first point (an incident's: of its onset)
    since: datetime | None = None  # an incident's onset

    def to_dict(self) -> dict[str, Any]:
        since = None if self.since is None else self.since.isoformat()
        return {"sign": self.sign, "stat": self.stat, "start": self.start, "since": since}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Run:
        since = None if data["since"] is None else datetime.fromisoformat(data["since"])
        return cls(int(data["sign"]), float(data["stat"]), int(data["start"]), since)


class DriftDetector:
    """Streaming, causal drift detector for one series: feed points in time order.

    Each point is scored in robust standard deviations off a baseline (the first quiet
    points), and a one-sided CUSUM per direction adds up the clipped scores. When one passes
    `threshold`, the onset is fitted as the step or the ramp off the baseline that explains the
    recent points best; a change of at least `min_change` since then is reported as a `Drift`.
    It stays reported, with the same `since`, until a recovery CUSUM sees the series back at
    its baseline, or the caller accepts the new level with `rebaseline()`.
    """

    def __init__(self, direction: Direction = "both", config: DriftConfig | None = None) -> None:
        if direction not in ("up", "down", "both"):
            raise ValueError(f"direction must be up, down or both, not {direction!r}")
        self.direction: Direction = direction
        self.config = config or DriftConfig()
        self._points: deque[tuple[datetime, float]] = deque(maxlen=self.config.window)
        self._count = 0
        self._baseline = Baseline()
        self._sides = [_Run(sign) for sign in _signs(direction)]
        self._incident: _Run | None = None

    def update(self, timestamp: datetime, value: float) -> Drift | None:
        """Add a point; the drift present as of this point, if any.

        A NaN or infinite value, or a timestamp not after the previous one, is skipped.
        """
        if _is_number(value) and (not self._points or timestamp > self._points[-1][0]):
            self._ingest(timestamp, float(value))
        return self.current()

    def current(self) -> Drift | None:
        """The drift reported as of the last point, if any."""
        incident = self._incident
        return None if incident is None else self._estimate(incident)

    def rebaseline(self) -> None:
        """Accept the recent level as normal: close any incident, re-learn the baseline.

        The new baseline starts from the last `min_points` points and grows with the next ones.
        """
        self._baseline = Baseline([value for _, value in self._points][-self.config.min_points :])
        self._reset()

    def state(self) -> dict[str, Any]:
        """Everything needed to resume, as JSON-ready values."""
        return {
            "version": STATE_VERSION,
            "direction": self.direction,
            "config": asdict(self.config),
            "count": self._count,
            "times": [moment.isoformat() for moment, _ in self._points],
            "values": [value for _, value in self._points],
            "baseline": list(self._baseline.values),
            "sides": [run.to_dict() for run in self._sides],
            "incident": None if self._incident is None else self._incident.to_dict(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DriftDetector:
        """A detector identical to the one whose `state()` this is."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported drift state version {state.get('version')!r}")
        detector = cls(state["direction"], DriftConfig(**state["config"]))
        times = [datetime.fromisoformat(moment) for moment in state["times"]]
        detector._points.extend(zip(times, map(float, state["values"]), strict=True))
        detector._count = int(state["count"])
        detector._baseline = Baseline([float(value) for value in state["baseline"]])
        detector._sides = [_Run.from_dict(run) for run in state["sides"]]
        incident = state["incident"]
        detector._incident = None if incident is None else _Run.from_dict(incident)
        return detector

    def _ingest(self, timestamp: datetime, value: float) -> None:
        index = self._count
        self._count += 1
        self._points.append((timestamp, value))
        if len(self._baseline) < self.config.min_points:
            self._baseline = self._baseline.extended(value)
            return
        if self._incident is not None:
            self._watch_recovery(self._incident, value)
        else:
            self._accumulate(index, value)
        if self._quiet() and len(self._baseline) < self.config.baseline_points:
            self._baseline = self._baseline.extended(value)

    def _evidence(self, sign: int, value: float) -> float:
        return self._baseline.evidence(sign, value, self.config.slack, self.config.min_change)

    def _accumulate(self, index: int, value: float) -> None:
        for run in self._sides:
            stat = self._step(run.stat, self._evidence(run.sign, value))
            if run.stat == 0 and stat > 0:
                run.start = index
            run.stat = stat
        alarms = [run for run in self._sides if run.stat > self.config.threshold]
        for run in sorted(alarms, key=lambda run: -run.stat):
            incident = self._onset(run)
            if self._material(incident.sign, self._estimate(incident)):
                self._incident = incident
                return

    def _onset(self, run: _Run) -> _Run:
        """The incident an alarm would open: from the onset that best fits a step or a ramp off
        the baseline, searched from as far before the CUSUM's run as the run is long."""
        length = self._count - run.start
        points = list(self._points)[-min(2 * length, len(self._points)) :]
        days = _days(points, points[0][0])
        deviations = clipped([value - self._baseline.level for _, value in points], length)
        first = fit_onset(days, deviations, run.sign)
        return _Run(run.sign, 0.0, self._count - len(points) + first, points[first][0])

    def _watch_recovery(self, incident: _Run, value: float) -> None:
        """Gather evidence that the value is back at the baseline: enough closes the incident."""
        evidence = self._evidence(incident.sign, value)
        incident.stat = self._step(incident.stat, -evidence)
        if incident.stat > self.config.threshold:
            self._reset()

    def _step(self, stat: float, evidence: float) -> float:
        step = min(max(evidence, -MAX_FALL), MAX_STEP)
        return min(max(stat + step, 0.0), MAX_STAT * self.config.threshold)

    def _material(self, sign: int, drift: Drift) -> bool:
        if drift.total_change is None:
            return sign * drift.change > 0
        return sign * drift.total_change >= self.config.min_change

    def _estimate(self, incident: _Run) -> Drift:
        """The drift since the incident's onset, from its points still in the window."""
        assert incident.since is not None
        points = list(self._points)[-min(self._count - incident.start, len(self._points)) :]
        baseline = self._baseline.level
        days = _days(points, incident.since)
        deviations = clipped([value - baseline for _, value in points], len(points))
        trend = len(points) >= MIN_TREND_POINTS and shape(days, deviations, incident.sign).trend
        slope = None
        if trend:
            intercept, slope = fit_line(days, deviations)
            current = baseline + intercept + slope * days[-1]
        else:
            current = median(value for _, value in points[len(points) // 2 :])
        change = current - baseline
        relative = abs(baseline) > TINY
        return Drift(
            direction="up" if incident.sign > 0 else "down",
            kind="trend" if trend else "level",
            since=incident.since,
            baseline=baseline,
            current=current,
            change=change,
            slope_per_day=slope,
            total_change=change / abs(baseline) if relative else None,
            rate_per_day=None if slope is None or not relative else slope / abs(baseline),
            points=self._count - incident.start,
        )

    def _quiet(self) -> bool:
        limit = self.config.threshold / 2
        return self._incident is None and all(run.stat <= limit for run in self._sides)

    def _reset(self) -> None:
        self._incident = None
        self._sides = [_Run(run.sign) for run in self._sides]


def _days(points: list[tuple[datetime, float]], origin: datetime) -> list[float]:
    return [(moment - origin).total_seconds() / 86400 for moment, _ in points]


def _signs(direction: Direction) -> tuple[int, ...]:
    return {"up": (1,), "down": (-1,), "both": (1, -1)}[direction]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
