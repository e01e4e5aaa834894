"""Funnel latency at scale: `governor demo --scale … --sessions 1,000,000` on SQLite, then a real
`governor serve`: p50/p95 of /funnel and /api/funnel (figures reused per period for
funnel_cache_seconds), of a step's drill-down page, and of computing the aggregate afresh (a
period never asked before). Baseline in the same run: DuckDB computing the same aggregates
(steps, abandonment, refunds, ratings per offer; fulfilment per offer; time-to-pay and
time-to-fulfil percentiles) straight from the same SQLite file. Goal: /funnel p95 ≤ 150 ms.
The database is written under a temporary folder and deleted after.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from common import ROOT, duckdb_over_sqlite, report, samples_ms
from dashboard_latency import governor, make_token, percentiles, timed, wait_for_system_tasks
from tests.support.ports import free_port

GOAL_MS = 150
COHORT = """
    WITH c AS (SELECT now()::TIMESTAMP - INTERVAL 37 DAY AS lo,
                      now()::TIMESTAMP - INTERVAL 7 DAY AS hi)
"""
DUCKDB_QUERIES = (
    COHORT
    + """
    SELECT e.offer_id, count(*) FROM c, sqlite_scan(:db, 'funnel_events') e
    WHERE e.step = 'offer_viewed' AND CAST(e.at AS TIMESTAMP) >= c.lo
      AND CAST(e.at AS TIMESTAMP) < c.hi
    GROUP BY ALL""",
    COHORT
    + """
    SELECT s.offer_id, count(*), count(*) FILTER (s.status = 'expired'),
           count(*) FILTER (s.status = 'expired' AND s.payment_intent_id IS NOT NULL),
           count(*) FILTER (s.payment_intent_id IS NOT NULL),
           count(*) FILTER (s.status = 'complete' AND (s.payment_status = 'paid'
                                                        OR s.async_payment = 'succeeded')),
           count(*) FILTER (s.async_payment = 'failed'),
           count(*) FILTER (s.status = 'complete' AND s.recovered_from IS NOT NULL),
           sum(s.amount_total_minor) FILTER (s.status = 'expired'),
           count(o.fulfilled_at), count(*) FILTER (o.fulfilled_at IS NOT NULL
                                                   AND o.status = 'refunded'),
           count(*) FILTER (o.fulfilled_at IS NOT NULL AND o.status = 'disputed'),
           count(f.id), avg(f.rating)
    FROM c, sqlite_scan(:db, 'checkout_sessions') s
    LEFT JOIN sqlite_scan(:db, 'orders') o ON o.checkout_session_id = s.id
    LEFT JOIN sqlite_scan(:db, 'feedback') f ON f.order_id = o.id
    WHERE CAST(s.created_at AS TIMESTAMP) >= c.lo AND CAST(s.created_at AS TIMESTAMP) < c.hi
    GROUP BY ALL""",
    COHORT
    + """
    SELECT s.offer_id, count(*), count(*) FILTER (u.attempts > 1 OR u.status <> 'done'),
           count(*) FILTER (u.status = 'failed'), sum(u.attempts - 1), count(DISTINCT u.order_id)
    FROM c, sqlite_scan(:db, 'fulfilments') u
    JOIN sqlite_scan(:db, 'orders') o ON o.id = u.order_id
    JOIN sqlite_scan(:db, 'checkout_sessions') s ON s.id = o.checkout_session_id
    WHERE CAST(s.created_at AS TIMESTAMP) >= c.lo AND CAST(s.created_at AS TIMESTAMP) < c.hi
    GROUP BY ALL""",
    COHORT
    + """
    SELECT s.offer_id,
           quantile_disc(epoch(CAST(s.completed_at AS TIMESTAMP)
                               - CAST(s.created_at AS TIMESTAMP)), [0.5, 0.95, 0.99]),
           quantile_disc(epoch(CAST(o.fulfilled_at AS TIMESTAMP)
                               - CAST(o.paid_at AS TIMESTAMP)), [0.5, 0.95, 0.99])
    FROM c, sqlite_scan(:db, 'checkout_sessions') s
    LEFT JOIN sqlite_scan(:db, 'orders') o ON o.checkout_session_id = s.id
    WHERE CAST(s.created_at AS TIMESTAMP) >= c.lo AND CAST(s.created_at AS TIMESTAMP) < c.hi
      AND s.status = 'complete'
    GROUP BY ALL""",
)


def duckdb_samples(db_path: Path, runs: int) -> list[float]:
    """Milliseconds of each run of the same aggregates in DuckDB over the SQLite file."""
    connection = duckdb_over_sqlite()

    def aggregate() -> None:
        for query in DUCKDB_QUERIES:
            connection.execute(query.replace(":db", f"'{db_path}'")).fetchall()

    return samples_ms(aggregate, runs)


def fresh_samples(client: httpx.Client, runs: int) -> list[float]:
    """Milliseconds of /api/funnel for periods never asked before (nothing reused)."""
    now = datetime.now(UTC).replace(microsecond=0)
    samples = []
    for n in range(runs):
        until = now - timedelta(seconds=n + 1)
        since = until - timedelta(days=30)
        start = time.perf_counter()
        client.get("/api/funnel", params={"since": since.isoformat(), "until": until.isoformat()}
                   ).raise_for_status()  # fmt: skip
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--scale", type=int, default=10_000, help="ledger entries and tasks")
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        db_path = Path(folder) / "funnel.db"
        port = free_port()
        env = {**os.environ, "GOVERNOR_DATABASE_URL": f"sqlite:///{db_path}",
               "GOVERNOR_BACKUP_DIR": str(Path(folder) / "backups"),
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        governor(["db", "upgrade"], env)
        start = time.perf_counter()
        summary = governor(["demo", "--scale", str(args.scale), "--sessions", str(args.sessions),
                            "--days", "60", "--json"], env)  # fmt: skip
        made = json.loads(summary)
        report(f"demo --scale {args.scale:,} --sessions {args.sessions:,} (SQLite)",
               time.perf_counter() - start, "s", "none", 0, summary=made)  # fmt: skip
        token = make_token(env)
        server = subprocess.Popen([sys.executable, "-m", "governor", "serve", "--port", str(port)],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                              timeout=120) as client:  # fmt: skip
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
                settled = wait_for_system_tasks(db_path)
                offer = client.get("/api/funnel?range=30d").json()["offers"][0]["offer_id"]
                measured = {
                    "/funnel page": timed(client, "/funnel?range=30d", args.runs),
                    "/api/funnel JSON": timed(client, "/api/funnel?range=30d", args.runs),
                    "drill-down: a step's sessions": timed(
                        client, f"/funnel/{offer}?range=30d&step=abandoned_at_payment", args.runs),
                    "/api/funnel computed afresh (nothing reused)": fresh_samples(
                        client, max(5, args.runs // 10)),
                }  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=15)
        duck50, duck95 = percentiles(duckdb_samples(db_path, max(5, args.runs // 10)))
        for name, samples in measured.items():
            p50, p95 = percentiles(samples)
            report(f"{name} p95", p95, "ms", "DuckDB funnel aggregates p95", duck95,
                   p50_ms=round(p50, 2), baseline_p50_ms=round(duck50, 2), goal_ms=GOAL_MS,
                   runs=len(samples), settled=settled)  # fmt: skip


if __name__ == "__main__":
    main()
