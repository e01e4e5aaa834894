"""Dashboard latency at scale: `governor demo --scale N` on SQLite, then a real `governor serve`.

Measures how long the generator takes, then the p50/p95 of repeated requests on loopback for
the overview page, its JSON call, and two drill-down pages (revenue → ledger rows with their
Stripe ids; cost → one task type and model's tasks). Baseline in the same run: DuckDB
computing the same overview aggregates (this and the previous period's money per currency,
kind and status; AI cost, tokens and tasks; the daily series) straight from the same SQLite
file through its sqlite_scanner extension. Goals: overview p95 ≤ 150 ms and no slower than
DuckDB; drill-down p95 ≤ 300 ms.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from common import ROOT, duckdb_over_sqlite, report, samples_ms
from tests.support.ports import free_port

GOAL_OVERVIEW_MS, GOAL_DRILL_MS = 150, 300
PREVIOUS_AND_NOW = """
    WITH periods(name, lo, hi) AS (VALUES
        ('now', now()::TIMESTAMP - INTERVAL 30 DAY, now()::TIMESTAMP),
        ('before', now()::TIMESTAMP - INTERVAL 60 DAY, now()::TIMESTAMP - INTERVAL 30 DAY))
"""
DUCKDB_QUERIES = (
    PREVIOUS_AND_NOW
    + """
    SELECT p.name, e.currency, e.kind, e.status, sum(e.amount_minor), count(*)
    FROM periods p JOIN sqlite_scan(:db, 'ledger_entries') e
      ON CAST(e.occurred_at AS TIMESTAMP) >= p.lo AND CAST(e.occurred_at AS TIMESTAMP) < p.hi
    GROUP BY ALL""",
    PREVIOUS_AND_NOW
    + """
    SELECT p.name, t.type, t.status, count(*), sum(t.cost_micros), sum(t.tokens_in),
           sum(t.tokens_out), sum(t.duration_ms)
    FROM periods p JOIN sqlite_scan(:db, 'execution_tasks') t
      ON CAST(t.finished_at AS TIMESTAMP) >= p.lo AND CAST(t.finished_at AS TIMESTAMP) < p.hi
    GROUP BY ALL""",
    """
    SELECT date_trunc('day', CAST(occurred_at AS TIMESTAMP)) AS day, currency, kind,
           sum(amount_minor)
    FROM sqlite_scan(:db, 'ledger_entries')
    WHERE CAST(occurred_at AS TIMESTAMP) >= now()::TIMESTAMP - INTERVAL 30 DAY
      AND status NOT IN ('failed', 'canceled', 'pending')
    GROUP BY ALL""",
    """
    SELECT date_trunc('day', CAST(finished_at AS TIMESTAMP)) AS day, sum(cost_micros), count(*)
    FROM sqlite_scan(:db, 'execution_tasks')
    WHERE CAST(finished_at AS TIMESTAMP) >= now()::TIMESTAMP - INTERVAL 30 DAY
    GROUP BY ALL""",
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def governor(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "governor", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"governor {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def make_token(env: dict[str, str]) -> str:
    code = ("from governor.auth.service import create_token\n"
            "from governor.storage.db import session_scope\n"
            "with session_scope() as s:\n    print(create_token(s, name='bench')[1])")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return done.stdout.strip()


def timed(client: httpx.Client, path: str, runs: int) -> list[float]:
    return samples_ms(lambda: client.get(path).raise_for_status(), runs)


def duckdb_samples(db_path: Path, runs: int) -> list[float]:
    connection = duckdb_over_sqlite()

    def overview() -> None:
        for query in DUCKDB_QUERIES:
            connection.execute(query.replace(":db", f"'{db_path}'")).fetchall()

    return samples_ms(overview, runs)


def wait_for_system_tasks(db_path: Path, limit_s: float = 900) -> bool:
    """Wait until the system tasks `serve` enqueued at start have run: the page's figures
    are measured in the steady state, not beside a first monitor evaluation."""
    import sqlite3

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with sqlite3.connect(db_path) as db:
            (busy,) = db.execute("SELECT COUNT(*) FROM execution_tasks WHERE kind = 'system' "
                                 "AND status IN ('pending', 'running')").fetchone()  # fmt: skip
        if not busy:
            return True
        time.sleep(1)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "dashboard.db"
        port = free_port()
        env = {**os.environ, "GOVERNOR_DATABASE_URL": f"sqlite:///{db_path}",
               "GOVERNOR_BACKUP_DIR": str(Path(folder) / "backups"),
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        governor(["db", "upgrade"], env)
        start = time.perf_counter()
        governor(["demo", "--scale", str(args.scale)], env)
        generate_s = time.perf_counter() - start
        report(f"demo --scale {args.scale:,} (SQLite)", generate_s, "s", "none", 0,
               rows=2 * args.scale)  # fmt: skip
        token = make_token(env)
        server = subprocess.Popen([sys.executable, "-m", "governor", "serve", "--port", str(port)],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as client:  # fmt: skip
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        sys.exit("governor serve did not start")
                    time.sleep(0.2)
                started = time.perf_counter()
                settled = wait_for_system_tasks(db_path)
                report("startup system tasks (first monitor evaluation, audit, refresh)",
                       time.perf_counter() - started, "s", "none", 0, settled=settled)  # fmt: skip
                measured = {
                    "overview page": timed(client, "/?range=30d", args.runs),
                    "overview JSON": timed(client, "/api/overview?range=30d", args.runs),
                    "drill-down: revenue → ledger rows": timed(
                        client, "/ledger?range=30d&kind=charge&currency=usd", args.runs),
                    "drill-down: cost → tasks of a type and model": timed(
                        client, "/tasks?range=30d&type=fulfill_order&ai_model=gpt-4o-mini",
                        args.runs),
                }  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=15)
        duck50, duck95 = percentiles(duckdb_samples(db_path, max(10, args.runs // 3)))
        for name, samples in measured.items():
            p50, p95 = percentiles(samples)
            goal = GOAL_DRILL_MS if name.startswith("drill") else GOAL_OVERVIEW_MS
            report(f"{name} p95", p95, "ms", "DuckDB overview aggregates p95", duck95,
                   p50_ms=round(p50, 2), baseline_p50_ms=round(duck50, 2), goal_ms=goal,
                   runs=args.runs)  # fmt: skip


if __name__ == "__main__":
    main()
