"""Drift detection on synthetic series: trends, steps, noise, zeros, gaps, causality, state."""

import json
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from governor.detection.drift import MAX_STEP, Drift, DriftConfig, DriftDetector
from governor.detection.drift_report import format_level, format_percent, format_time

START = datetime(2026, 11, 3)  # the day each synthetic change begins
LEAD = 60  # normal days before it

Point = tuple[datetime, float]


def series(shape: Callable[[int], float], seed: int, noise: float, days: int) -> list[Point]:
    """Daily points from LEAD days before START: shape(day since START) times noise."""
    rng = random.Random(seed)
    first = START - timedelta(days=LEAD)
    return [
        (first + timedelta(days=day), shape(day - LEAD) * (1 + rng.gauss(0, noise)))
        for day in range(LEAD + days)
    ]


def feed(detector: DriftDetector, points: list[Point]) -> list[Drift | None]:
    return [detector.update(moment, value) for moment, value in points]


def trend(rate: float) -> Callable[[int], float]:
    return lambda day: 50.0 * (1 + rate * max(0, day))


def step(factor: float) -> Callable[[int], float]:
    return lambda day: 20.0 * (factor if day >= 0 else 1.0)


def days_from_start(moment: datetime) -> float:
    return (moment - START).total_seconds() / 86400


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slow_trend_is_reported_soon_with_its_start_rate_and_kind(seed: int) -> None:
    results = feed(DriftDetector(), series(trend(0.04), seed, noise=0.06, days=22))

    first = next(i for i, found in enumerate(results) if found) - LEAD
    assert first <= 12  # days after the rise began
    drift = results[-1]
    assert drift is not None
    assert drift.kind == "trend" and drift.direction == "up"
    assert abs(days_from_start(drift.since)) <= 4
    assert drift.rate_per_day is not None and abs(drift.rate_per_day - 0.04) <= 0.015
    assert drift.total_change is not None and 0.6 <= drift.total_change <= 1.1
    text = drift.describe("implement_idea p95")
    assert text.startswith("implement_idea p95 up ")
    assert f"{drift.rate_per_day * 100:.1f}%/day" in text
    assert f"since {format_time(drift.since)}," in text


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_level_step_is_a_level_since_the_step(seed: int) -> None:
    results = feed(DriftDetector(), series(step(1.5), seed, noise=0.1, days=30))

    first = next(i for i, found in enumerate(results) if found) - LEAD
    fastest = math.ceil(DriftConfig().threshold / MAX_STEP) - 1  # one point adds MAX_STEP at most
    assert first == fastest  # a clear step is reported as soon as the evidence cap allows
    drift = results[-1]
    assert drift is not None
    assert drift.kind == "level" and drift.direction == "up"
    assert abs(days_from_start(drift.since)) <= 2
    assert drift.total_change is not None and abs(drift.total_change - 0.5) <= 0.12
    assert drift.rate_per_day is None
    assert drift.describe("refund rate").startswith("refund rate stepped up by ")
    assert len({found.since for found in results if found}) == 1


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("lognormal", [False, True])
def test_stationary_noise_raises_nothing(seed: int, lognormal: bool) -> None:
    rng = random.Random(seed)
    first = START - timedelta(days=LEAD)
    noisy = rng.lognormvariate if lognormal else rng.gauss
    points = [
        (first + timedelta(days=day), 100 * (noisy(0, 0.1) if lognormal else 1 + noisy(0, 0.1)))
        for day in range(120)
    ]
    assert not any(feed(DriftDetector(), points))


def test_direction_up_ignores_a_downward_drift() -> None:
    points = series(trend(-0.03), seed=4, noise=0.05, days=25)

    assert not any(feed(DriftDetector("up"), points))
    drift = feed(DriftDetector("down"), points)[-1]
    assert drift is not None and drift.direction == "down" and drift.kind == "trend"
    assert " down " in drift.describe("revenue per order")


@pytest.mark.parametrize("seed", range(5))
def test_mostly_zero_series_raises_nothing(seed: int) -> None:
    rng = random.Random(seed)
    points = [
        (START + timedelta(days=day), rng.uniform(0.01, 0.05) if rng.random() < 0.1 else 0.0)
        for day in range(120)
    ]
    detector = DriftDetector()
    assert not any(feed(detector, points))
    json.dumps(detector.state(), allow_nan=False)


def test_constant_series_raises_nothing_until_it_moves() -> None:
    points = [(START + timedelta(days=day), 42.0) for day in range(120)]
    detector = DriftDetector()
    assert not any(feed(detector, points))

    later = [(START + timedelta(days=120 + day), 42.0 * 1.04) for day in range(20)]
    assert not any(feed(detector, later))  # 4 % is below the smallest change worth reporting
    moved = [(START + timedelta(days=140 + day), 42.0 * 1.2) for day in range(10)]
    drift = feed(detector, moved)[-1]
    assert drift is not None and drift.kind == "level"
    assert drift.total_change is not None and math.isclose(drift.total_change, 0.2, rel_tol=0.01)


def test_rate_going_from_zero_to_positive_is_reported_in_absolute_terms() -> None:
    rng = random.Random(3)
    points = [(START + timedelta(days=day), 0.0) for day in range(50)]
    points += [(START + timedelta(days=day), rng.uniform(0.01, 0.03)) for day in range(50, 65)]

    drift = feed(DriftDetector("up"), points)[-1]
    assert drift is not None
    assert drift.baseline == 0 and drift.total_change is None and drift.rate_per_day is None
    assert 0.01 <= drift.current <= 0.03
    assert days_from_start(drift.since) == 50
    assert drift.describe("refund rate").endswith("(from 0 to " + format_level(drift.current) + ")")


def test_nan_infinite_and_out_of_order_points_are_skipped() -> None:
    clean = series(step(1.5), seed=5, noise=0.1, days=20)
    dirty: list[Point] = []
    for moment, value in clean:
        late = moment + timedelta(hours=1)
        dirty += [(moment, value), (late, math.nan), (late, -math.inf), (moment, 1e6)]

    expected = feed(DriftDetector(), clean)
    assert feed(DriftDetector(), dirty)[::4] == expected
    assert expected[-1] is not None


def test_rate_comes_from_timestamps_through_gaps_and_hours() -> None:
    weekdays = [point for point in series(trend(0.04), 6, 0.04, 24) if point[0].weekday() < 5]
    drift = feed(DriftDetector(), weekdays)[-1]
    assert drift is not None and drift.kind == "trend"
    assert drift.rate_per_day is not None and abs(drift.rate_per_day - 0.04) <= 0.015

    rng = random.Random(7)
    hourly = [
        (START + timedelta(hours=hour), 10 * (1 + 0.005 * max(0, hour - 60)) * rng.gauss(1, 0.03))
        for hour in range(110)
    ]
    drift = feed(DriftDetector(), hourly)[-1]
    assert drift is not None and drift.kind == "trend"
    assert drift.rate_per_day is not None and abs(drift.rate_per_day - 0.12) <= 0.03
    assert ":00" in format_time(drift.since)


def test_drift_ends_when_the_series_returns_to_its_baseline() -> None:
    back = series(lambda day: 20.0 * (1.5 if 0 <= day < 20 else 1.0), 8, 0.1, 60)
    results = feed(DriftDetector(), back)

    assert any(results[LEAD : LEAD + 20])
    assert not any(results[-20:])
    assert len({found.since for found in results if found}) == 1


def test_rebaseline_accepts_the_new_level() -> None:
    points = series(step(1.5), seed=9, noise=0.1, days=60)
    detector = DriftDetector()
    assert feed(detector, points[: LEAD + 15])[-1] is not None

    detector.rebaseline()
    assert detector.current() is None
    assert not any(feed(detector, points[LEAD + 15 :]))


def test_results_are_causal() -> None:
    points = series(trend(0.04), seed=10, noise=0.08, days=30)
    full = feed(DriftDetector(), points)
    for cut in (LEAD - 5, LEAD + 8, LEAD + 12, len(points) - 3):
        assert feed(DriftDetector(), points[:cut]) == full[:cut]


@pytest.mark.parametrize("cut", [3, LEAD, LEAD + 10, LEAD + 40])
def test_state_round_trips_through_json_mid_stream(cut: int) -> None:
    points = series(step(1.4), seed=11, noise=0.1, days=60)
    detector = DriftDetector("up", DriftConfig(window=30))
    feed(detector, points[:cut])

    text = json.dumps(detector.state(), allow_nan=False)
    restored = DriftDetector.from_state(json.loads(text))
    assert restored.state() == detector.state()
    assert feed(restored, points[cut:]) == feed(detector, points[cut:])


def test_state_keeps_timezones_and_rejects_other_versions() -> None:
    detector = DriftDetector()
    detector.update(datetime(2026, 11, 3, 9, tzinfo=UTC), 1.0)
    state = json.loads(json.dumps(detector.state()))
    assert DriftDetector.from_state(state).state() == detector.state()
    with pytest.raises(ValueError, match="version"):
        DriftDetector.from_state({**state, "version": 99})


def test_describe_formats_trends_steps_and_zero_baselines() -> None:
    trend_up = Drift("up", "trend", START, 41.2, 56.9, 15.7, 1.65, 0.381, 0.04, 10)
    assert trend_up.describe("implement_idea p95") == (
        "implement_idea p95 up 4.0%/day since 3 Nov, +38% in total"
    )
    level = Drift("up", "level", START, 0.012, 0.01824, 0.00624, None, 0.52, None, 9)
    assert level.describe("refund rate") == (
        "refund rate stepped up by 52% since 3 Nov (from 0.012 to 0.0182)"
    )
    down = Drift(
        "down", "trend", START + timedelta(hours=14), 1200, 900, -300, -30, -0.25, -0.025, 8
    )
    assert down.describe("revenue") == "revenue down 2.5%/day since 3 Nov 14:00, -25% in total"
    zero = Drift("up", "trend", START, 0.0, 0.021, 0.021, 0.0021, None, None, 10)
    assert zero.describe("refunds") == "refunds up 0.0021/day since 3 Nov, from 0 to 0.021"
    assert zero.as_dict()["since"] == "2026-11-03T00:00:00"


def test_number_formats() -> None:
    assert [format_percent(x) for x in (0.38, -0.04, 0.0045, 0)] == ["38%", "4.0%", "0.45%", "0%"]
    assert [format_level(x) for x in (1234567.8, 41.23, 0.0123456, -0.0)] == [
        "1,234,568",
        "41.2",
        "0.0123",
        "0",
    ]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="direction"):
        DriftDetector("sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DriftConfig(min_points=50)
    with pytest.raises(ValueError):
        DriftConfig(threshold=0)
