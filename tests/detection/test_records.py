"""Governor's default detector on synthetic series: seasonality learnt, spikes and shifts found."""

import math
import random
from datetime import datetime, timedelta

from governor.detection import make_detector, score_series

START = datetime(2024, 1, 1)
ALARM = 0.5  # a record broken by 10 %


def daily_series(days: int, seed: int = 11) -> tuple[list[datetime], list[float]]:
    """Every 15 minutes: a daily wave of amplitude 10 around 100, noise of 1, a slow trend."""
    rng = random.Random(seed)
    timestamps = [START + timedelta(minutes=15 * i) for i in range(96 * days)]
    values = [
        100 + 0.02 * i + 10 * math.sin(2 * math.pi * i / 96) + rng.gauss(0, 1)
        for i in range(len(timestamps))
    ]
    return timestamps, values


def test_a_spike_stands_out_and_the_daily_wave_does_not():
    timestamps, values = daily_series(40)
    spike = 96 * 30 + 50
    values[spike] += 12
    scores = score_series(timestamps, values, make_detector())
    assert scores[spike] >= 0.6
    ordinary = [s for i, s in enumerate(scores[96 * 5 :], 96 * 5) if abs(i - spike) > 96]
    assert max(ordinary) < scores[spike]
    assert sum(s >= ALARM for s in ordinary) <= len(ordinary) // 500
    assert sorted(ordinary)[len(ordinary) // 2] < 0.35  # the typical point scores low


def test_a_value_normal_at_noon_is_anomalous_at_midnight():
    timestamps, values = daily_series(40)
    trough = 96 * 30 + 72  # where the wave is at its lowest
    values[trough] += 18  # the height of an ordinary crest
    scores = score_series(timestamps, values, make_detector())
    assert scores[trough] >= ALARM
    assert scores[trough] == max(scores[96 * 5 :])


def test_a_level_shift_is_flagged_once_as_it_starts():
    rng = random.Random(5)
    timestamps = [START + timedelta(minutes=5 * i) for i in range(3000)]
    values = [20 + rng.gauss(0, 1) + (6 if i >= 2000 else 0) for i in range(3000)]
    scores = score_series(timestamps, values, make_detector())
    assert max(scores[2000:2010]) >= ALARM
    assert sum(s >= ALARM for s in scores[2010:2300]) <= 2
    assert sum(s >= ALARM for s in scores[300:2000]) <= 3


def test_scores_stay_low_on_pure_noise():
    rng = random.Random(9)
    timestamps = [START + timedelta(hours=i) for i in range(4000)]
    values = [rng.gauss(0, 1) for _ in range(4000)]
    scores = score_series(timestamps, values, make_detector())
    assert sum(s >= ALARM for s in scores[500:]) <= 8
