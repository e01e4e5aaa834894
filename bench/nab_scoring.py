"""NAB v1.1 scoring: per-row credits, one corpus-wide threshold per profile by exhaustive sweep."""

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PROBATION_FRACTION, PROBATION_CAP = 0.15, 750


@dataclass(frozen=True)
class Profile:
    """One of NAB's cost matrices."""

    name: str
    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class Series:
    """One data file: its rows and its windows as inclusive row ranges."""

    name: str
    timestamps: list[datetime]
    values: list[float]
    windows: list[tuple[int, int]]


@dataclass(frozen=True)
class Outcome:
    """A detector's result under one profile: normalised score, raw score and threshold."""

    profile: str
    score: float
    raw: float
    threshold: float


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip()[:19])


def read_scores(path: Path) -> tuple[list[datetime], list[float]]:
    """The timestamp and second column of a CSV with a header (data or detector results)."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [_parse_time(r[0]) for r in rows], [float(r[1]) for r in rows]


def load_corpus(data_dir: Path) -> list[Series]:
    """Every labelled file under data_dir/data, in name order, with its windows."""
    labels = json.loads((data_dir / "labels" / "combined_windows.json").read_text())
    corpus = []
    for name in sorted(labels):
        timestamps, values = read_scores(data_dir / "data" / name)
        row = {t: i for i, t in enumerate(timestamps)}
        windows = [(row[_parse_time(a)], row[_parse_time(b)]) for a, b in labels[name]]
        corpus.append(Series(name, timestamps, values, sorted(windows)))
    return corpus


def load_profiles(data_dir: Path) -> list[Profile]:
    """The three profiles of config/profiles.json."""
    config = json.loads((data_dir / "config" / "profiles.json").read_text())
    return [
        Profile(name, m["tpWeight"], m["fpWeight"], m["fnWeight"])
        for name, m in ((n, p["CostMatrix"]) for n, p in config.items())
    ]


def probation(rows: int) -> int:
    """Rows at the start of a file that are never scored."""
    return min(math.floor(PROBATION_FRACTION * rows), PROBATION_CAP)


def scaled_sigmoid(x: float) -> float:
    """NAB's scaled sigmoid: about +1 at x = -1, 0 at x = 0, -1 beyond x = 3."""
    return -1.0 if x > 3.0 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def row_credits(rows: int, windows: list[tuple[int, int]]) -> list[tuple[int, float]]:
    """For each row: (window number or -1, unweighted credit of a detection there).

    Inside a window the credit is a true positive's (earliest is best); outside, a false
    positive's, which is cheaper shortly after the previous window and -1 before the first.
    """
    credits, previous, inside = [], None, 0
    edge = scaled_sigmoid(-1.0)
    for i in range(rows):
        while inside < len(windows) and windows[inside][1] < i:
            previous, inside = windows[inside], inside + 1
        if inside < len(windows) and windows[inside][0] <= i:
            left, right = windows[inside]
            credits.append((inside, scaled_sigmoid(-(right - i + 1) / (right - left + 1)) / edge))
        elif previous is None:
            credits.append((-1, -1.0))
        else:
            left, right = previous
            credits.append((-1, scaled_sigmoid((i - right) / max(right - left, 1))))
    return credits


def sweep_points(corpus: list[Series], scores: list[list[float]]) -> list[tuple[float, int, float]]:
    """All scored rows of the corpus as (score, corpus-wide window number or -1, credit),
    highest score first."""
    points, offset = [], 0
    for series, file_scores in zip(corpus, scores, strict=True):
        if len(file_scores) != len(series.values):
            raise ValueError(f"{series.name}: {len(file_scores)} scores, {len(series.values)} rows")
        credits = row_credits(len(series.values), series.windows)
        for i in range(probation(len(series.values)), len(series.values)):
            window, credit = credits[i]
            points.append((file_scores[i], window + offset if window >= 0 else -1, credit))
        offset += len(series.windows)
    points.sort(key=lambda p: -p[0])
    return points


def best_threshold(
    points: list[tuple[float, int, float]], windows: int, profile: Profile
) -> tuple[float, float]:
    """(raw score, threshold) of the best threshold: detections are rows scoring >= threshold.

    Lowers the threshold one distinct score at a time, keeping each window's best credit.
    """
    best = [-profile.fn] * windows
    total = -profile.fn * len({w for _, w, _ in points if w >= 0})
    best_total, best_at = total, math.inf
    i = 0
    while i < len(points):
        score = points[i][0]
        while i < len(points) and points[i][0] == score:
            _, window, credit = points[i]
            if window < 0:
                total += profile.fp * credit
            elif profile.tp * credit > best[window]:
                total += profile.tp * credit - best[window]
                best[window] = profile.tp * credit
            i += 1
        if total > best_total:
            best_total, best_at = total, score
    return best_total, best_at


def evaluate(
    corpus: list[Series], scores: list[list[float]], profiles: list[Profile]
) -> list[Outcome]:
    """A detector's normalised NAB score under each profile: 100 perfect, 0 never firing."""
    points = sweep_points(corpus, scores)
    windows = sum(len(s.windows) for s in corpus)
    outcomes = []
    for profile in profiles:
        raw, threshold = best_threshold(points, windows, profile)
        null, perfect = -windows * profile.fn, windows * profile.tp
        normalised = 100 * (raw - null) / (perfect - null)
        outcomes.append(Outcome(profile.name, normalised, raw, threshold))
    return outcomes
