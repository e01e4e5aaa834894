"""Governor's default detector: how far a point's deviations go beyond their recent extremes."""

from datetime import datetime

from governor.detection.clock import hour_number
from governor.detection.limits import LARGEST
from governor.detection.state import SlotState

LEVEL_RATE = 0.01  # the baseline level is an exponential mean over about 100 points
SHORT_RATE, LONG_RATE = 0.25, 0.0625  # the deviation also averaged over about 4 and 16 points
PROFILE_RATE = 0.25  # hour-of-day and hour-of-week profiles follow each new day or week by 1/4
CHOICE_RATE = 0.005  # which profile explains the series better, over about 200 points
BLOCK, BLOCKS = 100, 40  # extremes are remembered as the maxima of 40 blocks of 100 points
WARMUP = 100  # points scored 0 while the detector first learns
ALARM = 1.1  # a deviation 10 % beyond its recent extreme scores 0.5; ordinary ones near 0
REFRACTORY = 50  # points after an alarm during which weaker scores are silenced
SIDES = 8  # four views (the deviation, its two averages, the seasonal residual), two signs
RELATIVE_FLOOR, TINY = 1e-6, 1e-12  # extremes of a constant series are not zero
HUGE = 1e6  # ratios are capped there: the score is 1 long before


class RecordsDetector(SlotState):
    """Scores each point by how far it breaks the records of the last ~4000 points.

    Four signed views of the point: its deviation from an exponential baseline, that deviation
    averaged over ~4 and ~16 points (a lasting shift beyond anything brief), and its residual
    from an hour-of-day or hour-of-week profile, whichever has lately fitted better. For each
    view and sign, the ratio r of the point to the largest value of the previous ~4000 points;
    the score maps the highest r to q / (1 + q), q = (r / ALARM) ** 4, so a record broken by
    10 % scores 0.5. After such an alarm, weaker scores are silenced for REFRACTORY points.
    """

    name = "records"
    __slots__ = (
        "alarm_at",
        "alarm_score",
        "blocks",
        "current",
        "daily",
        "daily_error",
        "first_hour",
        "level",
        "long_mean",
        "points",
        "short_mean",
        "top",
        "weekly",
        "weekly_error",
    )

    def __init__(self) -> None:
        self.points = 0
        self.level = 0.0
        self.short_mean = self.long_mean = 0.0
        self.daily: list[float | None] = [None] * 24
        self.weekly: list[float | None] = [None] * 168
        self.daily_error = self.weekly_error = 0.0
        self.first_hour: int | None = None
        self.current = [0.0] * SIDES  # per view and sign: maximum of this block
        self.top = [0.0] * SIDES  # and of the remembered blocks before it
        self.blocks: list[list[float]] = [[] for _ in range(SIDES)]
        self.alarm_at = -REFRACTORY - 1
        self.alarm_score = 0.0

    def update(self, timestamp: datetime, value: float) -> float:
        """Learn the point and return its anomaly score in [0, 1]."""
        x = float(value)
        if not -LARGEST <= x <= LARGEST:  # NaN, infinite or absurd: a missing point
            return 0.0
        n = self.points = self.points + 1
        if n == 1:
            self.level = x
        level = self.level
        deviation = x - level
        self.level = level + deviation * (LEVEL_RATE if n * LEVEL_RATE > 1.0 else 1.0 / n)
        short = self.short_mean = self.short_mean + (deviation - self.short_mean) * SHORT_RATE
        long = self.long_mean = self.long_mean + (deviation - self.long_mean) * LONG_RATE
        views = (deviation, short, long, self._seasonal(timestamp, x))
        floor = RELATIVE_FLOOR * abs(level) + TINY
        current, top = self.current, self.top
        ratio = 0.0
        slot = -2
        for view in views:
            slot += 2
            if view > 0.0:
                side = slot
            elif view < 0.0:
                view, side = -view, slot + 1
            else:
                continue
            block_max = current[side]
            record = top[side] if top[side] > block_max else block_max
            if view > ratio * (record + floor):
                ratio = view / (record + floor)
            if view > block_max:
                current[side] = view
        if n % BLOCK == 0:
            self._close_block()
        if n <= WARMUP:
            return 0.0
        odds = ((ratio if ratio < HUGE else HUGE) / ALARM) ** 4
        score = odds / (1.0 + odds)
        if n - self.alarm_at <= REFRACTORY and score <= self.alarm_score:
            return 0.0  # no stronger than a recent alarm
        if score >= 0.5:
            self.alarm_at, self.alarm_score = n, score
        return score

    def _seasonal(self, timestamp: datetime, x: float) -> float:
        """x less its hour-of-day or hour-of-week profile, whichever has lately fitted better.

        A profile is followed only once it has seen a whole day or week: before that, the
        residual is 0, or the daily one.
        """
        hour = hour_number(timestamp)
        if self.first_hour is None:
            self.first_hour = hour
        age = hour - self.first_hour
        daily, weekly = self.daily, self.weekly
        by_day, by_week = daily[hour % 24], weekly[hour % 168]
        day_residual = 0.0 if by_day is None or age < 24 else x - by_day
        week_residual = day_residual if by_week is None or age < 168 else x - by_week
        daily[hour % 24] = x if by_day is None else by_day + (x - by_day) * PROFILE_RATE
        weekly[hour % 168] = x if by_week is None else by_week + (x - by_week) * PROFILE_RATE
        self.daily_error += (abs(day_residual) - self.daily_error) * CHOICE_RATE
        self.weekly_error += (abs(week_residual) - self.weekly_error) * CHOICE_RATE
        return week_residual if self.weekly_error < self.daily_error else day_residual

    def _close_block(self) -> None:
        for slot, remembered in enumerate(self.blocks):
            remembered.append(self.current[slot])
            if len(remembered) > BLOCKS:
                del remembered[0]
            self.top[slot] = max(remembered)
            self.current[slot] = 0.0
