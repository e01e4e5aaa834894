"""The baseline a drift is measured from, and how far a new value lies off it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean

from governor.detection.drift_stats import TINY, Reference, reference

SCALE_FLOOR = 0.01  # relative to the level: a constant baseline gets a 1 % scale


class Baseline:
    """A series' normal: its first quiet points, summarised as they are and, when all are
    positive, as logarithms too, where a skewed series' long tail looks like what it is."""

    def __init__(self, values: Sequence[float] = ()) -> None:
        self.values = list(values)
        self._frames: list[tuple[Reference, bool]] = []
        if self.values:
            floor = SCALE_FLOOR * abs(fmean(self.values))
            self._frames.append((reference(self.values, floor), False))
        if self.values and min(self.values) > 0:
            logs = [math.log(value) for value in self.values]
            self._frames.append((reference(logs, SCALE_FLOOR), True))

    def __len__(self) -> int:
        return len(self.values)

    @property
    def level(self) -> float:
        """The normal level, in the series' own unit: a winsorised mean."""
        return self._frames[0][0].centre

    def extended(self, value: float) -> Baseline:
        """This baseline with one more point."""
        return Baseline([*self.values, value])

    def evidence(self, sign: int, value: float, slack: float, min_change: float) -> float:
        """How far the value lies off the baseline in the direction of `sign` (+1 up, -1 down),
        beyond a slack, in standard deviations of the baseline on that side.

        The slack is the larger of `slack` and half of `min_change`, so changes too small to
        report add no evidence. A value must lie off both as it is and as a logarithm.
        """
        return min(_evidence(ref, log, sign, value, slack, min_change) for ref, log in self._frames)


def _evidence(
    ref: Reference, log: bool, sign: int, value: float, slack: float, min_change: float
) -> float:
    scale = ref.scale(sign)
    material = math.log1p(min_change) if log else min_change * abs(ref.centre)
    point = math.log(max(value, TINY)) if log else value
    return sign * (point - ref.centre) / scale - max(slack, material / (2 * scale))
