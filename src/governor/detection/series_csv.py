"""Series as CSV files: read `timestamp,value` (NAB's format), write them back scored."""

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from governor.detection.base import Detector, score_series
from governor.errors import BadInput, NotFound

SCORE_COLUMN = "anomaly_score"


@dataclass(frozen=True)
class SeriesFile:
    """One CSV file's rows as read, their timestamps and values as numbers, and the lines
    (1-based, the header being line 1) of rows earlier than the row before them."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    timestamps: list[datetime]
    values: list[float]
    out_of_order: list[int]


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (naive means UTC) or Unix seconds, as an aware UTC datetime."""
    try:
        moment = datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_series(path: Path) -> SeriesFile:
    """Read a `timestamp,value` CSV file; a row that cannot be used is named with its line.

    Rows earlier than the row before them are kept (real exports have them, NAB's own data
    too) and their lines listed in `out_of_order`; equal timestamps are not out of order.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"Cannot read {path}: {error}.") from error
    if not table:
        raise BadInput(f"{path} is empty.", hint="Give a CSV file with the header timestamp,value.")
    header = [name.strip() for name in table[0]]
    if "timestamp" not in header or "value" not in header:
        raise BadInput(
            f"{path} has the header {','.join(header)!r}, without a timestamp and a value column.",
            hint="The first line must name the columns, e.g. timestamp,value.",
        )
    at, of = header.index("timestamp"), header.index("value")
    rows, timestamps, values, out_of_order = table[1:], [], [], []
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise BadInput(f"{path}, line {line}: {len(row)} fields where the header has "
                           f"{len(header)}.")  # fmt: skip
        timestamps.append(_timestamp(path, line, row[at]))
        values.append(_value(path, line, row[of]))
        if len(timestamps) > 1 and timestamps[-1] < timestamps[-2]:
            out_of_order.append(line)
    return SeriesFile(path, header, rows, timestamps, values, out_of_order)


def score_file(series: SeriesFile, detector: Detector, *, sort: bool = False) -> list[float]:
    """Each row's score, in file order: the rows fed to the detector as they stand in the
    file (as NAB does), or with `sort` in time order (a stable sort: ties keep file order)."""
    if not sort:
        return score_series(series.timestamps, series.values, detector)
    order = sorted(range(len(series.timestamps)), key=series.timestamps.__getitem__)
    scored = score_series(
        [series.timestamps[i] for i in order], [series.values[i] for i in order], detector
    )
    scores = [0.0] * len(order)
    for index, score in zip(order, scored, strict=True):
        scores[index] = score
    return scores


def describe_out_of_order(series: SeriesFile, *, shown: int = 5) -> str:
    """A warning naming the first `shown` lines out of order and how many more there are."""
    lines = series.out_of_order
    named = ", ".join(map(str, lines[:shown]))
    more = f" and {len(lines) - shown} more" if len(lines) > shown else ""
    rows = "1 row is" if len(lines) == 1 else f"{len(lines)} rows are"
    where = "line" if len(lines) == 1 else "lines"
    return (
        f"{series.path}: {rows} earlier than the row before ({where} {named}{more}); "
        "scored in file order, as NAB does. Give --sort to score them in time order."
    )


def _timestamp(path: Path, line: int, text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except (ValueError, OverflowError, OSError):
        raise BadInput(f"{path}, line {line}: {text!r} is not a timestamp.",
                       hint="Use ISO 8601 (2026-11-28 14:00:00, UTC unless it says otherwise) "
                            "or Unix seconds.") from None  # fmt: skip


def _value(path: Path, line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadInput(f"{path}, line {line}: {text!r} is not a finite number.")
    return value


def write_scored(series: SeriesFile, scores: Sequence[float], target: Path) -> None:
    """Write the rows as read, in their order, with `anomaly_score` added (or replaced); the
    file appears whole or not at all."""
    header = list(series.header)
    if SCORE_COLUMN in header:
        column = header.index(SCORE_COLUMN)
        rows = [[*row[:column], *row[column + 1 :]] for row in series.rows]
        del header[column]
    else:
        rows = series.rows
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([*header, SCORE_COLUMN])
            writer.writerows(
                [*row, f"{score:.6f}"] for row, score in zip(rows, scores, strict=True)
            )
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def plan_outputs(inputs: Sequence[Path], out: Path) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs: a file goes to OUT/its name, a folder's CSV files
    (found recursively) to OUT/their path inside that folder."""
    pairs: list[tuple[Path, Path]] = []
    for given in inputs:
        if given.is_dir():
            found = sorted(p for p in given.rglob("*.csv") if p.is_file())
            if not found:
                raise BadInput(f"{given} holds no .csv file.")
            pairs += [(p, out / p.relative_to(given)) for p in found]
        elif given.is_file():
            pairs.append((given, out / given.name))
        else:
            raise NotFound(f"{given} does not exist.", hint="Give CSV files or folders of them.")
    targets: dict[Path, Path] = {}
    for source, target in pairs:
        if target.resolve() == source.resolve():
            raise BadInput(f"Writing {target} would overwrite its input.",
                           hint="Choose an --out folder other than the inputs'.")  # fmt: skip
        if target in targets:
            raise BadInput(f"{source} and {targets[target]} would both be written to {target}.",
                           hint="Give them in separate runs or from one folder.")  # fmt: skip
        targets[target] = source
    return pairs
