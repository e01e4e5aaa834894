"""`governor detect`: CSV series in, the same rows with an anomaly score out."""

import csv
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def test_a_file_without_the_header_or_out_of_order_is_refused(cli, tmp_path: Path):
    write_series(tmp_path / "h.csv", [1.0, 2.0], header="time,amount")
    result = cli("detect", str(tmp_path / "h.csv"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "without a timestamp and a value column" in result.stderr
    (tmp_path / "late.csv").write_text(
        "timestamp,value\n2026-10-02 00:00:00,1\n2026-10-01 00:00:00,2\n"
    )
    result = cli("detect", str(tmp_path / "late.csv"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "line 3" in result.stderr and "Sort the rows" in result.stderr
    result = cli("detect", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"))
    assert result.exit_code != 0 and "does not exist" in result.stderr
