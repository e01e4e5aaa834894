"""`governor detect`: score CSV series with Governor's anomaly detectors, file by file."""

import time
from pathlib import Path

import typer

from governor.cli.output import console, errors, print_json
from governor.detection import DEFAULT_DETECTOR, DETECTORS, make_detector
from governor.detection.series_csv import (
    describe_out_of_order,
    plan_outputs,
    read_series,
    score_file,
    write_scored,
)
from governor.errors import BadInput

FIRING = 0.5
"""The score from which the summary counts a point as flagged."""


def detect(
    inputs: list[Path] = typer.Argument(
        ..., help="CSV files (timestamp,value) or folders of them."
    ),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the scored files."),
    detector: str = typer.Option(
        DEFAULT_DETECTOR, "--detector", help=f"Which detector: {', '.join(DETECTORS)}."
    ),
    sort: bool = typer.Option(
        False,
        "--sort",
        help="Score the rows in time order (they are still written back in file order); "
        "without it rows earlier than the one before them are scored where they stand, "
        "as NAB does, with a warning.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write each series with an added anomaly_score column, under --out at its relative path."""
    try:
        make_detector(detector)
    except ValueError as error:
        raise BadInput(str(error)) from None
    pairs = plan_outputs(inputs, out_dir)
    series = [read_series(source) for source, _ in pairs]  # every input checked before writing
    summary = []
    for one, (_, target) in zip(series, pairs, strict=True):
        if one.out_of_order and not sort:
            errors.print(f"warning: {describe_out_of_order(one)}", markup=False)
        began = time.perf_counter()
        scores = score_file(one, make_detector(detector), sort=sort)
        seconds = time.perf_counter() - began
        write_scored(one, scores, target)
        summary.append({"input": str(one.path), "output": str(target), "rows": len(scores),
                        "out_of_order": len(one.out_of_order),
                        "flagged": sum(score >= FIRING for score in scores),
                        "max_score": round(max(scores, default=0.0), 4),
                        "seconds": round(seconds, 3)})  # fmt: skip
    if as_json:
        print_json({"detector": detector, "files": summary})
        return
    for item in summary:
        console.print(f"{item['output']}: {item['rows']} rows, {item['flagged']} flagged "
                  f"(score ≥ {FIRING}), highest {item['max_score']}", markup=False)  # fmt: skip
    console.print(f"{len(summary)} file(s) scored with {detector}.", markup=False)
