"""`governor detect`: CSV series in, the same rows with an anomaly score out."""

import csv
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from governor.detection import DEFAULT_DETECTOR, make_detector, score_series
from governor.detection.series_csv import parse_timestamp

START = datetime(2026, 10, 1, tzinfo=UTC)


def write_series(path: Path, values: list[float], *, header: str = "timestamp,value") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header] + [
        f"{(START + timedelta(hours=i)).strftime('%Y-%m-%d %H:%M:%S')},{v}"
        for i, v in enumerate(values)
    ]
    path.write_text("\n".join(lines) + "\n")


def daily_wave(hours: int, spike_at: int | None = None) -> list[float]:
    values = [round(100 + 40 * math.sin(2 * math.pi * i / 24) + (i * 7919 % 13) / 2, 2)
              for i in range(hours)]  # fmt: skip
    if spike_at is not None:
        values[spike_at] = 900.0
    return values


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_a_folder_is_scored_file_by_file_at_the_same_relative_paths(cli, tmp_path: Path):
    inputs, out = tmp_path / "series", tmp_path / "scored"
    write_series(inputs / "shop" / "revenue.csv", daily_wave(24 * 20, spike_at=24 * 15 + 5))
    write_series(inputs / "costs.csv", daily_wave(24 * 10))
    result = cli("detect", str(inputs), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sorted(Path(f["output"]).relative_to(out).as_posix() for f in summary["files"]) == [
        "costs.csv", "shop/revenue.csv"]  # fmt: skip
    original = read_rows(inputs / "shop" / "revenue.csv")
    scored = read_rows(out / "shop" / "revenue.csv")
    assert scored[0] == ["timestamp", "value", "anomaly_score"]
    assert [row[:2] for row in scored] == original  # same rows, same order, same text
    scores = [float(row[2]) for row in scored[1:]]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores.index(max(scores)) == 24 * 15 + 5  # the spike stands out


def test_an_unknown_detector_names_the_known_ones(cli, tmp_path: Path):
    write_series(tmp_path / "a.csv", daily_wave(48))
    result = cli("detect", str(tmp_path / "a.csv"), "--out", str(tmp_path / "o"),
                 "--detector", "crystal_ball")  # fmt: skip
    assert result.exit_code == 2
    assert "crystal_ball" in result.stderr and "windowed_gaussian" in result.stderr


def test_a_bad_row_is_named_and_nothing_is_written(cli, tmp_path: Path):
    write_series(tmp_path / "in" / "good.csv", daily_wave(48))
    write_series(tmp_path / "in" / "bad.csv", [1.0, 2.0, 3.0])
    bad = tmp_path / "in" / "bad.csv"
    bad.write_text(bad.read_text().replace(",3.0", ",three"))
    result = cli("detect", str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "bad.csv, line 4: 'three' is not a finite number" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_file_without_the_header_or_missing_is_refused(cli, tmp_path: Path):
    write_series(tmp_path / "h.csv", [1.0, 2.0], header="time,amount")
    result = cli("detect", str(tmp_path / "h.csv"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "without a timestamp and a value column" in result.stderr
    result = cli("detect", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"))
    assert result.exit_code != 0 and "does not exist" in result.stderr


def step_back(path: Path, lines: list[int], by: timedelta) -> list[list[str]]:
    """Move the timestamps on those (1-based) lines of a written series back by `by`."""
    rows = read_rows(path)
    for line in lines:
        moved = datetime.fromisoformat(rows[line - 1][0]) - by
        rows[line - 1][0] = moved.strftime("%Y-%m-%d %H:%M:%S")
    path.write_text("\n".join(",".join(row) for row in rows) + "\n")
    return rows


def scores_of(path: Path) -> list[float]:
    return [float(row[2]) for row in read_rows(path)[1:]]


def test_rows_out_of_order_are_scored_in_file_order_with_a_warning_naming_their_lines(
    cli, tmp_path: Path
):
    source, out = tmp_path / "late.csv", tmp_path / "out"
    write_series(source, daily_wave(24 * 12, spike_at=24 * 9))
    rows = step_back(source, [151, 201], timedelta(minutes=90))
    result = cli("detect", str(source), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert "2 rows are earlier than the row before (" in result.stderr
    assert "lines 151, 201" in result.stderr and "--sort" in result.stderr
    assert json.loads(result.stdout)["files"][0]["out_of_order"] == 2
    scored = read_rows(out / "late.csv")
    assert [row[:2] for row in scored] == rows  # same rows, same order
    expected = score_series(
        [parse_timestamp(row[0]) for row in rows[1:]],
        [float(row[1]) for row in rows[1:]],
        make_detector(DEFAULT_DETECTOR),
    )
    assert scores_of(out / "late.csv") == [round(s, 6) for s in expected]


def test_many_rows_out_of_order_are_counted_and_the_first_few_named(cli, tmp_path: Path):
    source = tmp_path / "late.csv"
    write_series(source, daily_wave(24 * 5))
    step_back(source, list(range(10, 110, 8)), timedelta(hours=3))  # 13 lines
    result = cli("detect", str(source), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "13 rows are earlier than the row before (" in result.stderr
    assert "lines 10, 18, 26, 34, 42 and 8 more" in result.stderr


def test_sort_scores_in_time_order_and_writes_the_rows_back_in_file_order(cli, tmp_path: Path):
    source, out = tmp_path / "late.csv", tmp_path / "out"
    write_series(source, daily_wave(24 * 12, spike_at=24 * 9))
    rows = step_back(source, [151, 201], timedelta(minutes=90))
    result = cli("detect", str(source), "--out", str(out), "--sort")
    assert result.exit_code == 0, result.output
    assert "earlier than the row before" not in result.stderr
    scored = read_rows(out / "late.csv")
    assert [row[:2] for row in scored] == rows
    in_time = sorted(range(len(rows) - 1), key=lambda i: parse_timestamp(rows[i + 1][0]))
    expected = score_series(
        [parse_timestamp(rows[i + 1][0]) for i in in_time],
        [float(rows[i + 1][1]) for i in in_time],
        make_detector(DEFAULT_DETECTOR),
    )
    by_row = dict(zip(in_time, expected, strict=True))
    assert scores_of(out / "late.csv") == [round(by_row[i], 6) for i in range(len(rows) - 1)]
    assert cli("detect", str(source), "--out", str(tmp_path / "plain")).exit_code == 0
    assert scores_of(tmp_path / "plain" / "late.csv") != scores_of(out / "late.csv")


def test_a_row_that_cannot_be_read_is_still_refused_after_rows_out_of_order(cli, tmp_path: Path):
    source = tmp_path / "late.csv"
    write_series(source, daily_wave(48))
    step_back(source, [5], timedelta(hours=2))
    source.write_text(source.read_text().replace("2026-10-02 03:00:00", "yesterday"))
    result = cli("detect", str(source), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "late.csv, line 29: 'yesterday' is not a timestamp" in (
        result.stderr
    )
    assert not (tmp_path / "out").exists()
