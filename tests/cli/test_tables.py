"""CLI tables at any terminal width: a table that does not fit folds into records, never cut."""

import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from governor.models.types import utcnow
from governor.storage.db import create_engine
from tests.factories import insert_task

GOVERNOR = Path(sys.executable).with_name("governor")
TYPES = ("sleepy_enrichment", "other_type_long_name")
HEADERS = ("type", "count", "p50 ms", "p95 ms", "max ms", "db", "http", "llm", "own")


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file with finished tasks of two types (tables are not storage)."""
    path = tmp_path / "governor.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    now = utcnow()
    for index in range(6):
        insert_task(engine, type=TYPES[index % 2], started_at=now - timedelta(seconds=9),
                    finished_at=now, duration_ms=1000 * (index + 1))  # fmt: skip
    engine.dispose()
    return url


def governor(database: str, columns: int, *args: str) -> str:
    """The real `governor …` run in a terminal of that many columns; its stdout."""
    env = {**os.environ, "GOVERNOR_DATABASE_URL": database, "COLUMNS": str(columns)}
    done = subprocess.run([str(GOVERNOR), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 40])
def test_a_table_too_wide_for_the_terminal_folds_into_records_without_cutting_a_name(
    database, columns
):
    shown = governor(database, columns, "tasks", "profile")
    assert "…" not in shown
    assert all(len(line) <= columns for line in shown.splitlines()), shown
    blocks = shown.split("\n\n")
    assert blocks[0].startswith("Task types")
    for type_ in TYPES:  # one block of `name: value` lines per type, every name whole
        (block,) = [b for b in blocks if f"type: {type_}" in " ".join(b.split())]
        names = [line.split(":")[0].strip() for line in block.splitlines() if ":" in line]
        assert set(HEADERS) <= set(names) and "bottleneck" in names
    if columns == 40:  # a second command, through the same mechanism
        listed = [" ".join(line.split()) for line in governor(database, 40, "tasks", "list")
                  .splitlines()]  # fmt: skip
        assert listed.count("status: succeeded") == 6 and "attempts: 1/3" in listed
        ids = [line for line in listed if line.startswith("id: ")]
        assert len(ids) == 6 and all(re.fullmatch(r"id: task_[0-9a-z]{26}", i) for i in ids)


@pytest.mark.slow
def test_a_table_that_fits_is_drawn_as_a_table(database):
    shown = governor(database, 200, "tasks", "profile")
    header = next(line for line in shown.splitlines() if "p95 ms" in line)
    assert all(name in header for name in HEADERS) and "┃" in header
    assert "…" not in shown and all(type_ in shown for type_ in TYPES)
