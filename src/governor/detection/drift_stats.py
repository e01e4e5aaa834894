"""Small statistics for drift detection: a baseline's robust reference, the shape of a change."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean, median, stdev
from typing import NamedTuple

MAD_TO_SIGMA = 1.4826
TINY = 1e-12
WINSOR = 2.5  # baseline values further than this many MADs from the median are pulled in
CLIP = 3.0  # deviations after a change larger than this many times their median are pulled in


class Reference(NamedTuple):
    """A baseline's centre, and its scales of deviations below and above it."""

    centre: float
    below: float
    above: float

    def scale(self, sign: int) -> float:
        """The scale of deviations in the direction of `sign` (+1 above, -1 below)."""
        return self.above if sign > 0 else self.below


def reference(values: Sequence[float], floor: float) -> Reference:
    """Mean of the values winsorised at WINSOR MADs from their median; a scale for each side.

    Each side's scale is the largest of the winsorised standard deviation, the MAD's, and that
    side's own MAD (so a skewed baseline's long tail is not mistaken for drift); at least
    `floor`, and never 0. With over half the values equal (mostly-zero or near-constant series)
    the MAD is 0: then nothing is winsorised and both sides share the standard deviation.
    """
    middle = median(values)
    mad = MAD_TO_SIGMA * median(abs(v - middle) for v in values)
    below = above = 0.0
    if mad > 0:
        values = [min(max(v, middle - WINSOR * mad), middle + WINSOR * mad) for v in values]
        below = MAD_TO_SIGMA * median(middle - v for v in values if v <= middle)
        above = MAD_TO_SIGMA * median(v - middle for v in values if v >= middle)
    spread = max(stdev(values) if len(values) > 1 else 0.0, mad, floor, TINY)
    return Reference(fmean(values), max(below, spread), max(above, spread))


class Shape(NamedTuple):
    """A change off a baseline after its onset: a ramp (trend) or a step, whichever explains
    more of the deviations' sum of squares, and how much that is."""

    trend: bool
    explained: float


def shape(days: Sequence[float], deviations: Sequence[float], sign: int) -> Shape:
    """The shape of deviations from a baseline, `days` after the onset: a step (constant) or a
    ramp from 0 at day 0. Only a change in the direction of `sign` explains anything."""
    sum_du = sum(d * u for d, u in zip(deviations, days, strict=True))
    return _best(sum(deviations), len(days), sum_du, sum(u * u for u in days), sign)


def fit_onset(days: Sequence[float], deviations: Sequence[float], sign: int) -> int:
    """Where a change began: the position from which a step or a ramp explains the most of the
    deviations from a baseline (least squares over every possible onset, in one pass)."""
    best_index, best = 0, Shape(False, 0.0)
    sum_d = sum_du = sum_u = sum_uu = 0.0
    later = days[-1]
    for index in range(len(days) - 1, -1, -1):
        gap, later = later - days[index], days[index]
        after = len(days) - 1 - index  # the points after this one shift by `gap` days
        sum_uu += 2 * gap * sum_u + after * gap * gap
        sum_u += after * gap
        sum_du += gap * sum_d
        sum_d += deviations[index]
        candidate = _best(sum_d, after + 1, sum_du, sum_uu, sign)
        if candidate.explained > best.explained:
            best_index, best = index, candidate
    return best_index


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares intercept and slope of ys on xs (slope 0 without two distinct xs)."""
    mean_x, mean_y = fmean(xs), fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 0:
        return mean_y, 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return mean_y - slope * mean_x, slope


def clipped(deviations: Sequence[float], recent: int) -> list[float]:
    """Deviations limited to CLIP times the median size of the `recent` last ones (those after
    the change), so that one outlier moves no fit."""
    limit = CLIP * median(abs(d) for d in deviations[-recent:])
    return [min(max(d, -limit), limit) for d in deviations]


def _best(sum_d: float, count: int, sum_du: float, sum_uu: float, sign: int) -> Shape:
    step = sum_d * sum_d / count if sign * sum_d > 0 else 0.0
    ramp = sum_du * sum_du / sum_uu if sum_uu > 0 and sign * sum_du > 0 else 0.0
    return Shape(ramp > step, max(step, ramp))
