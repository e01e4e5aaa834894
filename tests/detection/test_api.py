"""Every registered detector: the registry, strict causality, exact save and restore, odd input."""

import json
import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from governor.detection import (
    DEFAULT_DETECTOR,
    DETECTORS,
    make_detector,
    restore_detector,
    score_series,
)

START = datetime(2024, 3, 1)


def irregular_series(points: int, seed: int = 7) -> tuple[list[datetime], list[float]]:
    """A noisy random walk with spikes, sampled every 5 minutes with jitter and a few gaps."""
    rng = random.Random(seed)
    timestamps, values, now, level = [], [], START, 50.0
    for i in range(points):
        now += timedelta(minutes=5, seconds=rng.randint(-60, 60))
        if i % 700 == 699:
            now += timedelta(hours=rng.randint(2, 30))  # a gap
        level += rng.gauss(0, 0.3)
        spike = 25.0 if rng.random() < 0.003 else 0.0
        timestamps.append(now)
        values.append(level + rng.gauss(0, 1) + spike)
    return timestamps, values


def sparse_counts(points: int) -> list[float]:
    """Mostly zeros, with a count of 1 to 4 about one time in fifty."""
    rng = random.Random(3)
    return [float(rng.randint(1, 4)) if rng.random() < 0.02 else 0.0 for _ in range(points)]


@pytest.fixture(scope="module")
def series() -> tuple[list[datetime], list[float]]:
    return irregular_series(3000)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_scores_of_a_prefix_do_not_depend_on_later_points(name, series):
    timestamps, values = series
    full = score_series(timestamps, values, make_detector(name))
    for cut in (1, 150, 1234):
        assert score_series(timestamps[:cut], values[:cut], make_detector(name)) == full[:cut]


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_a_detector_restored_from_json_continues_exactly(name, series):
    timestamps, values = series
    full = score_series(timestamps, values, make_detector(name))
    for cut in (0, 1, 99, 1500):
        detector = make_detector(name)
        score_series(timestamps[:cut], values[:cut], detector)
        state = json.loads(json.dumps(detector.state(), allow_nan=False))
        assert state["detector"] == name
        restored = restore_detector(state)
        assert score_series(timestamps[cut:], values[cut:], restored) == full[cut:]


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_state_is_a_copy(name, series):
    timestamps, values = series
    detector = make_detector(name)
    score_series(timestamps[:500], values[:500], detector)
    state = detector.state()
    frozen = json.dumps(state)
    score_series(timestamps[500:], values[500:], detector)
    assert json.dumps(state) == frozen


@pytest.mark.parametrize("name", sorted(DETECTORS))
@pytest.mark.parametrize(
    "values",
    [
        [3.0] * 2000,
        [0.0] * 2000,
        [1e12] * 2000,
        [float(i % 97 == 0) for i in range(2000)],  # a count that is mostly zero
        sparse_counts(2000),
        [(-1.0) ** i * 10.0 ** (i % 300) for i in range(2000)],
    ],
    ids=["constant", "zeros", "huge", "rare-ones", "sparse-counts", "extreme-swings"],
)
def test_flat_and_sparse_series_give_finite_scores_that_rarely_fire(name, values):
    timestamps = [START + timedelta(hours=i) for i in range(len(values))]
    detector = make_detector(name)
    scores = score_series(timestamps, values, detector)
    assert all(0.0 <= s <= 1.0 and math.isfinite(s) for s in scores)
    json.dumps(detector.state(), allow_nan=False)
    if name == DEFAULT_DETECTOR:
        assert sum(s >= 0.5 for s in scores) <= 5


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_missing_values_score_zero_and_are_skipped(name, series):
    timestamps, values = series
    holed = list(values[:400])
    holed[200], holed[300] = math.nan, math.inf
    scores = score_series(timestamps[:400], holed, make_detector(name))
    assert scores[200] == scores[300] == 0.0
    assert all(math.isfinite(s) for s in scores)


@pytest.mark.parametrize("name", sorted(DETECTORS))
@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(hours=5, minutes=30))])
def test_aware_timestamps_score_as_the_naive_utc_ones(name, zone, series):
    timestamps, values = series
    aware = [t.replace(tzinfo=UTC).astimezone(zone) for t in timestamps]
    assert score_series(aware, values, make_detector(name)) == score_series(
        timestamps, values, make_detector(name)
    )


def test_an_unknown_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"known detectors: records, windowed_gaussian"):
        make_detector("nope")
    with pytest.raises(ValueError, match="known detectors"):
        restore_detector({"detector": "nope"})


def test_the_default_detector_is_registered():
    assert DEFAULT_DETECTOR in DETECTORS
    assert make_detector().name == DEFAULT_DETECTOR


def test_a_state_restores_only_its_own_detector():
    state = make_detector("windowed_gaussian").state()
    with pytest.raises(ValueError, match="not of 'records'"):
        DETECTORS["records"].from_state(state)
    del state["window"]
    with pytest.raises(ValueError, match="lacks window"):
        restore_detector(state)


@pytest.mark.parametrize("name", sorted(DETECTORS))
@pytest.mark.parametrize(
    "back",
    [timedelta(minutes=3), timedelta(hours=2), timedelta(days=2), timedelta(days=400)],
    ids=["minutes", "hours", "days", "before-the-first-point"],
)
def test_a_step_back_in_time_scores_like_the_ordered_series(name, back, series):
    """A few rows earlier than the row before them (as real exports have) change no flag."""
    timestamps, values = series
    stepped = list(timestamps)
    for index in (700, 1500, 2600):
        stepped[index] = timestamps[index - 1] - back
    ordered = score_series(timestamps, values, make_detector(name))
    scores = score_series(stepped, values, make_detector(name))
    assert all(0.0 <= s <= 1.0 and math.isfinite(s) for s in scores)
    assert [i for i, s in enumerate(scores) if s >= 0.5] == [
        i for i, s in enumerate(ordered) if s >= 0.5
    ]
    assert max(abs(a - b) for a, b in zip(scores, ordered, strict=True)) < 0.2
