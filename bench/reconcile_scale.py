"""Reconciliation at scale: a million balance transactions against a million ledger entries.

100 discrepancies of five kinds are planted; `reconcile.record` must find exactly those, in
at most 20 s and 1 GB. Beside it, in the same run, a plain SQL full outer join of the same two
tables is the floor. The reconcile runs in a fresh process (this script with --child) so its
peak RSS is its own; the RSS right after the imports is reported as that figure's baseline.

Stripe's fee is 0 on every transaction, so the ledger needs no fee entries and holds exactly as
many rows as Stripe (a real ledger would hold a `fee` entry per charge as well). Each charge
belongs to its own order (order_id set, as Stripe metadata sets it), so the duplicate check has
every charge to look at; --no-order-ids leaves order_id empty.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from common import each_database, report

START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN = timedelta(days=30)
PLANTED_KINDS = (
    "missing_in_ledger", "missing_in_stripe", "amount_mismatch", "currency_mismatch",
    "status_mismatch",
)  # fmt: skip
PLANTED = 100
GOAL_SECONDS, GOAL_MB = 20, 1024

FILL_STRIPE = {
    "sqlite": """
        WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :rows)
        INSERT INTO stripe_balance_transactions (id, type, reporting_category, source_id,
            ledger_kind, match_ref, amount_minor, fee_minor, net_minor, currency, status,
            created, origin, updated_at)
        SELECT printf('txn_%010d', n), 'charge', 'charge', printf('ch_%010d', n), 'charge',
               printf('ch_%010d', n), 1000 + n % 5000, 0, 1000 + n % 5000, 'usd', 'available',
               strftime('%Y-%m-%d %H:%M:%S', :start + (n - 1) * :span / :rows, 'unixepoch')
                   || '.000000',
               'api', '2026-11-01 00:00:00.000000'
        FROM seq
    """,
    "postgresql": """
        INSERT INTO stripe_balance_transactions (id, type, reporting_category, source_id,
            ledger_kind, match_ref, amount_minor, fee_minor, net_minor, currency, status,
            created, origin, updated_at)
        SELECT 'txn_' || lpad(n::text, 10, '0'), 'charge', 'charge',
               'ch_' || lpad(n::text, 10, '0'), 'charge', 'ch_' || lpad(n::text, 10, '0'),
               1000 + n % 5000, 0, 1000 + n % 5000, 'usd', 'available',
               to_timestamp(:start + (n - 1)::bigint * :span / :rows), 'api',
               timestamptz '2026-11-01 00:00:00+00'
        FROM generate_series(1, :rows) AS n
    """,
}

FILL_LEDGER = """
    INSERT INTO ledger_entries (id, kind, amount_minor, currency, status, occurred_at, source,
        source_ref, balance_transaction_id, charge_id, order_id, watermark, created_at,
        updated_at)
    SELECT 'led_' || substr(t.id, 5), 'charge', t.amount_minor, t.currency, 'succeeded',
           t.created, 'stripe', t.match_ref, t.id, t.match_ref,
           CASE WHEN :orders = 1 THEN 'ord_' || substr(t.id, 5) END, t.created, t.created,
           t.updated_at
    FROM stripe_balance_transactions t
"""

FLOOR = """
    SELECT count(*) FROM stripe_balance_transactions t
    FULL OUTER JOIN ledger_entries l ON l.kind = t.ledger_kind AND l.source_ref = t.match_ref
    WHERE t.id IS NULL OR l.id IS NULL OR l.amount_minor <> t.amount_minor
"""


def planted(rows: int) -> dict[str, list[int]]:
    """The numbers of the planted charges by kind: spread evenly, kinds interleaved.

    A missing_in_stripe charge is a new number past `rows` (a ledger entry with no txn); it
    takes the time of the spread number it stands for.
    """
    step = rows // PLANTED
    chosen: dict[str, list[int]] = {kind: [] for kind in PLANTED_KINDS}
    for i in range(PLANTED):
        chosen[PLANTED_KINDS[i % len(PLANTED_KINDS)]].append(i * step + step // 2 + 1)
    return chosen


def expected_pairs(rows: int) -> set[tuple[str, str]]:
    pairs = set()
    for kind, numbers in planted(rows).items():
        for i, n in enumerate(numbers):
            n = rows + 1 + i if kind == "missing_in_stripe" else n
            pairs.add((kind, f"ch_{n:010d}"))
    return pairs


def _at(n: int, rows: int) -> datetime:
    return START + timedelta(seconds=(n - 1) * int(SPAN.total_seconds()) // rows)


def fill(engine: sa.Engine, kind: str, rows: int, orders: bool) -> int:
    """Fill both tables, plant the discrepancies, ANALYZE; the number of ledger rows."""
    from governor.models import LedgerEntry

    refs = {k: [f"ch_{n:010d}" for n in ns] for k, ns in planted(rows).items()}
    in_refs = sa.bindparam("refs", expanding=True)
    with engine.begin() as conn:
        params = {"rows": rows, "start": int(START.timestamp()),
                  "span": int(SPAN.total_seconds())}  # fmt: skip
        conn.execute(sa.text(FILL_STRIPE[kind]), params)
        conn.execute(sa.text(FILL_LEDGER), {"orders": int(orders)})
        conn.execute(
            sa.text("DELETE FROM ledger_entries WHERE kind = 'charge' AND source_ref IN :refs")
            .bindparams(in_refs), {"refs": refs["missing_in_ledger"]},
        )  # fmt: skip
        for column, value, key in (("amount_minor", "amount_minor + 1", "amount_mismatch"),
                                   ("currency", "'eur'", "currency_mismatch"),
                                   ("status", "'failed'", "status_mismatch")):  # fmt: skip
            conn.execute(
                sa.text(f"UPDATE ledger_entries SET {column} = {value} "
                        "WHERE kind = 'charge' AND source_ref IN :refs").bindparams(in_refs),
                {"refs": refs[key]},
            )  # fmt: skip
        extra = []
        for i, n in enumerate(planted(rows)["missing_in_stripe"]):
            at = _at(n, rows)
            ref = f"ch_{rows + 1 + i:010d}"
            extra.append({"id": f"led_x{rows + 1 + i:010d}", "kind": "charge",
                          "amount_minor": 4200, "currency": "usd", "status": "succeeded",
                          "occurred_at": at, "source": "stripe", "source_ref": ref,
                          "charge_id": ref, "order_id": f"ord_x{rows + 1 + i:010d}" if orders
                          else None, "watermark": at, "created_at": at,
                          "updated_at": at})  # fmt: skip
        conn.execute(sa.insert(LedgerEntry.__table__), extra)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    if kind == "sqlite":  # outside a transaction: fold the filled WAL into the database file
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM ledger_entries")) or 0


def floor_seconds(engine: sa.Engine) -> tuple[float, int]:
    with engine.connect() as conn:
        start = time.perf_counter()
        count = conn.execute(sa.text(FLOOR)).scalar_one()
        return time.perf_counter() - start, count


def peak_rss_kib() -> int:
    """This process's peak RSS in KiB: VmHWM, not ru_maxrss.

    Linux carries ru_maxrss across exec, and subprocess starts the child with vfork, so the
    child's ru_maxrss would start at the parent's peak (the fill); VmHWM belongs to the
    process's own address space, which exec makes anew.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(url: str, rows: int) -> None:
    """One reconcile in this fresh process: its seconds, peak RSS and what it found."""
    from governor.revenue import reconcile
    from governor.storage.db import create_engine, session_scope

    engine = create_engine(url)  # loads the DBAPI driver, so it counts in the baseline
    baseline_kib = peak_rss_kib()
    window = reconcile.Window(START, START + SPAN)
    start = time.perf_counter()
    with session_scope(engine) as session:
        outcome = reconcile.record(session, window, "bench")
    seconds = time.perf_counter() - start
    peak_kib = peak_rss_kib()
    engine.dispose()
    found = {(d.kind, d.stripe_id) for d in outcome.discrepancies}
    print(json.dumps({"seconds": seconds, "baseline_kib": baseline_kib, "peak_kib": peak_kib,
                      "found": len(outcome.discrepancies),
                      "exact": found == expected_pairs(rows)
                      and len(outcome.discrepancies) == PLANTED,
                      "counts": outcome.counts}))  # fmt: skip


def measure(kind: str, url: str, rows: int, runs: int, orders: bool) -> None:
    from governor.storage.db import create_engine
    from governor.storage.migrate import migrate

    engine = create_engine(url)
    migrate(engine, "upgrade", "head", backup=False)
    start = time.perf_counter()
    ledger_rows = fill(engine, kind, rows, orders)
    filled = time.perf_counter() - start
    floors, counts, results = [], set(), []
    for _ in range(runs):
        seconds, count = floor_seconds(engine)
        floors.append(seconds)
        counts.add(count)
        done = subprocess.run(
            [sys.executable, __file__, "--child", url, "--rows", str(rows)],
            check=True, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    engine.dispose()
    for result in results:
        assert result["exact"], f"{kind}: found {result['found']}, not the {PLANTED} planted"
    common = {"database": kind, "rows": rows, "ledger_rows": ledger_rows, "planted": PLANTED,
              "found": results[-1]["found"], "fee_entries": False, "order_ids": orders,
              "runs": runs, "fill_seconds": round(filled, 1),
              "floor_count": sorted(counts)}  # fmt: skip
    report("reconcile_seconds", statistics.median(r["seconds"] for r in results), "s",
           "full_outer_join_seconds", statistics.median(floors), **common,
           goal=f"<= {GOAL_SECONDS} s")  # fmt: skip
    report("reconcile_peak_rss_mb", max(r["peak_kib"] for r in results) / 1024, "MB",
           "rss_after_imports_mb", max(r["baseline_kib"] for r in results) / 1024, **common,
           goal=f"<= {GOAL_MB} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1, help="reconciles (and floors) per database")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--no-order-ids", dest="orders", action="store_false",
                        help="leave the ledger's order_id empty (the duplicate check then skips "
                             "every charge)")  # fmt: skip
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rows < 2 * PLANTED:
        parser.error(f"--rows must be at least {2 * PLANTED}")
    if args.child:
        child(args.child, args.rows)
        return
    for kind, url in each_database(args.database):
        measure(kind, url, args.rows, args.runs, args.orders)


if __name__ == "__main__":
    main()
