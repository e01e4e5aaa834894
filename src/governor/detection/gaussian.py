"""A cheap baseline: how improbable a point is under a Gaussian fitted to the last points."""

import math
from datetime import datetime

from governor.detection.limits import LARGEST
from governor.detection.state import SlotState

WINDOW, REFIT = 6400, 100  # as NAB's: the last 6400 points, refitted every 100 (each at first)


class WindowedGaussian(SlotState):
    """1 - the two-sided tail probability of the point's z-score in a sliding window."""

    name = "windowed_gaussian"
    __slots__ = ("mean", "since_fit", "spread", "window")

    def __init__(self) -> None:
        self.window: list[float] = []
        self.mean = 0.0
        self.spread = 0.0
        self.since_fit = REFIT  # fit at the next point

    def update(self, timestamp: datetime, value: float) -> float:
        """Score the point against the current fit, then learn it."""
        x = float(value)
        if not -LARGEST <= x <= LARGEST:  # NaN, infinite or absurd: a missing point
            return 0.0
        window = self.window
        if window and (self.since_fit >= REFIT or len(window) < REFIT):
            size = len(window)
            mean = self.mean = math.fsum(window) / size
            self.spread = math.sqrt(math.fsum((v - mean) * (v - mean) for v in window) / size)
            self.since_fit = 0
        if len(window) < 2:
            score = 0.0
        elif self.spread > 0.0:
            score = 1.0 - math.erfc(abs(x - self.mean) / self.spread / math.sqrt(2.0))
        else:
            score = 0.0 if x == self.mean else 1.0
        window.append(x)
        if len(window) > WINDOW:
            del window[0]
        self.since_fit += 1
        return score
