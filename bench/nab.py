"""NAB v1.1 on its labelled series: the scorer checked against NAB's own results, then Governor's
detectors scored and timed, each figure beside its baseline from the same run.

Checks first: from NAB's published per-row scores the scorer must reproduce Numenta HTM and
Windowed Gaussian to ±0.01, and it must give 0 to a detector that never fires and 100 to one
firing at each window's first row. Then each detector's three normalised scores (one threshold
per profile for the whole corpus, by exhaustive sweep) beside HTM's, and its throughput on one
core: points per CPU second through its update loop alone, the median of --runs passes. Goals for
the default detector: 70 / 62 / 75 and 100,000 points per second.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from common import ROOT, report
from governor.detection import DEFAULT_DETECTOR, DETECTORS, make_detector
from nab_scoring import Outcome, Profile, Series, evaluate, load_corpus, load_profiles, read_scores

PUBLISHED = {  # NAB's figures for these files: standard, reward_low_FP_rate, reward_low_FN_rate
    "numenta": (68.58, 62.21, 72.77),
    "windowedGaussian": (29.06, 14.79, 35.80),
}
TOLERANCE = 0.01
GOALS = (70.0, 62.0, 75.0)
GOAL_RATE = 100_000
SHORT = {"reward_low_FP_rate": "low_FP", "reward_low_FN_rate": "low_FN"}
LABELS = {
    "numenta": "Numenta HTM (NAB's results)",
    "windowedGaussian": "Windowed Gaussian (NAB's)",
    "null": "null, never fires",
    "perfect": "perfect, each window's first row",
}


def reference_scores(data_dir: Path, corpus: list[Series], detector: str) -> list[list[float]]:
    """NAB's published per-row scores of one detector, checked row by row against the data."""
    scores = []
    for series in corpus:
        category, name = series.name.split("/")
        path = data_dir / "reference_results" / detector / category / f"{detector}_{name}"
        timestamps, values = read_scores(path)
        if timestamps != series.timestamps:
            raise SystemExit(f"{path}: its timestamps are not those of {series.name}")
        scores.append(values)
    return scores


def baselines(corpus: list[Series]) -> dict[str, list[list[float]]]:
    """Scores of a detector that never fires, and of one firing at each window's first row."""
    perfect = []
    for series in corpus:
        scores = [0.0] * len(series.values)
        for left, _ in series.windows:
            scores[left] = 1.0
        perfect.append(scores)
    return {"null": [[0.0] * len(s.values) for s in corpus], "perfect": perfect}


def run_detector(name: str, corpus: list[Series], runs: int) -> tuple[list[list[float]], float]:
    """The detector's scores for every series, and its median points per CPU second over `runs`."""
    rates, first = [], None
    points = sum(len(s.values) for s in corpus)
    for _ in range(runs):
        scores, seconds = [], 0.0
        for series in corpus:
            update = make_detector(name).update
            pairs = list(zip(series.timestamps, series.values, strict=True))
            start = time.process_time()  # CPU time: other processes' load is not counted
            scores.append([update(timestamp, value) for timestamp, value in pairs])
            seconds += time.process_time() - start
        if first is not None and scores != first:
            raise SystemExit(f"{name}: two runs over the same data gave different scores")
        first = scores
        rates.append(points / seconds)
    assert first is not None
    return first, statistics.median(rates)


def row(label: str, outcomes: list[Outcome], note: str = "") -> str:
    """One line of the table."""
    figures = "".join(f"{o.score:>10.2f}" for o in outcomes)
    return f"{label:<38}{figures}  {note}"


def check_scorer(
    data_dir: Path, corpus: list[Series], profiles: list[Profile]
) -> list[tuple[str, list[Outcome], tuple[float, ...], bool]]:
    """Each check of the scorer: its name, outcomes, expected scores and whether they match."""
    expected = {**PUBLISHED, "null": (0.0, 0.0, 0.0), "perfect": (100.0, 100.0, 100.0)}
    scores = {name: reference_scores(data_dir, corpus, name) for name in PUBLISHED}
    scores.update(baselines(corpus))
    checks: list[tuple[str, list[Outcome], tuple[float, ...], bool]] = []
    for name, rows in scores.items():
        outcomes = evaluate(corpus, rows, profiles)
        pairs = zip(outcomes, expected[name], strict=True)
        ok = all(abs(o.score - e) <= TOLERANCE for o, e in pairs)
        checks.append((name, outcomes, expected[name], ok))
    return checks


def show_check(name: str, outcomes: list[Outcome], expected: tuple[float, ...], ok: bool,
               as_json: bool) -> None:  # fmt: skip
    """One check of the scorer, as a table line or as JSON lines."""
    if not as_json:
        wanted = " ".join(f"{e:.2f}" for e in expected)
        print(
            row(f"check: {LABELS[name]}", outcomes, f"{'ok' if ok else 'FAIL'}, expected {wanted}")
        )
        return
    for outcome, want in zip(outcomes, expected, strict=True):
        report(f"scorer_check_{outcome.profile}", outcome.score, "score", f"expected_{name}",
               want, ok=ok)  # fmt: skip


def show_detector(name: str, outcomes: list[Outcome], rate: float, htm: list[Outcome],
                  runs: int, as_json: bool) -> None:  # fmt: skip
    """A detector's scores beside HTM's and its throughput, as table lines or JSON lines."""
    default = name == DEFAULT_DETECTOR
    if not as_json:
        thresholds = " ".join(f"{o.threshold:.4f}" for o in outcomes)
        label = f"{name}{' (default)' if default else ''}"
        print(row(label, outcomes, f"thresholds {thresholds}"))
        print(f"{'':<38}{rate:>10,.0f} points/s on one core, median of {runs} runs")
        return
    for outcome, base, goal in zip(outcomes, htm, GOALS, strict=True):
        report(f"nab_{outcome.profile}", outcome.score, "score", "numenta_htm", base.score,
               detector=name, threshold=outcome.threshold,
               goal=f">= {goal}" if default else None)  # fmt: skip
    report("throughput", rate, "points/s", "goal", GOAL_RATE, detector=name, runs=runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nab",
                        help="NAB folder: data/, labels/, config/, reference_results/")  # fmt: skip
    parser.add_argument("--detector", action="append", choices=sorted(DETECTORS),
                        help="a detector to score (repeatable; default: all)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="timed passes per detector")
    parser.add_argument("--json", action="store_true", help="print JSON lines, not a table")
    args = parser.parse_args()
    if not (args.data / "labels" / "combined_windows.json").is_file():
        sys.exit(f"No NAB data at {args.data}: give --data DIR (the folder with data/, labels/, "
                 "config/ and reference_results/).")  # fmt: skip
    corpus, profiles = load_corpus(args.data), load_profiles(args.data)
    names = args.detector or sorted(DETECTORS, key=lambda n: n != DEFAULT_DETECTOR)
    if not args.json:
        print(f"NAB v1.1: {len(corpus)} files, {sum(len(s.values) for s in corpus)} rows, "
              f"{sum(len(s.windows) for s in corpus)} windows; one threshold per profile "
              "for the whole corpus, by exhaustive sweep")  # fmt: skip
        print(f"{'':<38}" + "".join(f"{SHORT.get(p.name, p.name):>10}" for p in profiles))

    checks = check_scorer(args.data, corpus, profiles)
    for check in checks:
        show_check(*check, as_json=args.json)
    htm = next(outcomes for name, outcomes, _, _ in checks if name == "numenta")
    for name in names:
        scores, rate = run_detector(name, corpus, args.runs)
        show_detector(name, evaluate(corpus, scores, profiles), rate, htm, args.runs, args.json)
    if not args.json:
        goals = "".join(f"{g:>10.2f}" for g in GOALS)
        print(f"{'goal of the default detector':<38}{goals}  and {GOAL_RATE:,} points/s")
    failed = [name for name, _, _, ok in checks if not ok]
    if failed:
        sys.exit(f"scorer checks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
