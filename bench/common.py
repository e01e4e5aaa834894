"""Shared helpers for the benchmarks: timing with medians, JSON lines, a throw-away PostgreSQL."""

import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ borrows the tests' PostgreSQL launcher
    sys.path.insert(0, str(ROOT))


def samples_ms(action: Callable[[], object], runs: int) -> list[float]:
    """Wall times of `runs` calls, in milliseconds (one warm-up call first)."""
    action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def median_ms(action: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls, in milliseconds (one warm-up call first)."""
    return statistics.median(samples_ms(action, runs))


def duckdb_over_sqlite() -> Any:
    """A DuckDB connection that reads SQLite files (`sqlite_scan`), in UTC: the baseline of the
    page benchmarks."""
    import glob

    import duckdb
    import duckdb_extension_sqlite_scanner

    folder = Path(duckdb_extension_sqlite_scanner.__file__).parent / "extensions"
    [extension] = glob.glob(str(folder / "*" / "sqlite_scanner.duckdb_extension"))
    connection = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    connection.execute(f"LOAD '{extension}'")
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def report(figure: str, value: float, unit: str, baseline: str, baseline_value: float,
           **extra: object) -> None:  # fmt: skip
    """Print one figure beside its baseline as a JSON line."""
    line = {"figure": figure, "value": round(value, 3), "unit": unit,
            "baseline": baseline, "baseline_value": round(baseline_value, 3), **extra}  # fmt: skip
    print(json.dumps(line), flush=True)


def run_embedded(engine: Any, concurrency: int) -> float:
    """Seconds for the embedded executor, traced as `governor serve` runs it, to run every task."""
    import asyncio

    from governor.tasks.embedded import EmbeddedExecutor
    from governor.tracing import configure_tracing, shutdown_tracing

    configure_tracing(engine)
    executor = EmbeddedExecutor(engine, concurrency=concurrency)
    start = time.perf_counter()
    asyncio.run(executor.run_until_idle())
    elapsed = time.perf_counter() - start
    executor.close()
    shutdown_tracing()
    return elapsed


def each_database(which: str = "both") -> "Iterator[tuple[str, str]]":
    """(kind, url) of a fresh SQLite file, then of a throw-away PostgreSQL, as `which` asks."""
    for kind, urls in fresh_databases(which, 1):
        yield kind, urls[0]


def fresh_databases(which: str, count: int) -> "Iterator[tuple[str, list[str]]]":
    """(kind, `count` fresh database URLs) for SQLite, then a throw-away PostgreSQL."""
    import tempfile

    from governor.storage.db import dispose_engines
    from tests.support.postgres import PostgresServer, find_bin_dir

    if which in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            yield "sqlite", [f"sqlite:///{Path(folder) / f'bench{n}.db'}" for n in range(count)]
    if which in ("postgresql", "both"):
        bin_dir = find_bin_dir()
        if bin_dir is None:
            print('{"skipped": "postgresql", "reason": "no PostgreSQL binaries"}', flush=True)
            return
        server = PostgresServer(bin_dir).start()
        try:
            yield "postgresql", [server.create_database(f"bench{n}") for n in range(count)]
        finally:
            dispose_engines()
            server.stop()
