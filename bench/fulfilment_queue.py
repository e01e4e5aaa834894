"""The fulfilment queue's queries at scale: many orders, few of them still waiting.

Fills a migrated database with --orders orders of ten offers (half with a 60-minute SLA), all
fulfilled through one done step but --open paid ones whose step is pending, failing or waiting
for the customer, and --calls outside calls of the last hour. Times, as /fulfilment runs them,
one page of the queue with its counts, and the providers' health. Baseline in the same run: a
plain count of the paid, unfulfilled orders (the least any queue must read). Goal: the queue's
p95 at most 150 ms.
"""

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from common import each_database, report, samples_ms

GOAL_MS = 150
BATCH = 10_000
OPEN_STATES = ("pending", "failed", "action_required", "running")
PROVIDERS = ("mail.example", "ship.example")
WAITING = "SELECT count(*) FROM orders WHERE status = 'paid' AND fulfilled_at IS NULL"


def fill(engine: Any, orders: int, open_orders: int, calls: int) -> None:
    """Offers, orders, one step per order, and the last hour's calls of two providers."""
    from governor.models import ExecutionTask, Fulfilment, Idea, Offer, Order, TaskSpan

    now = datetime.now(UTC)
    with engine.begin() as conn:
        idea = {"id": "idea_b", "title": "Bench", "status": "live", "created_at": now}
        conn.execute(sa.insert(Idea.__table__), [idea])
        conn.execute(sa.insert(Offer.__table__), [
            {"id": f"offer_{i}", "idea_id": "idea_b", "title": f"Offer {i}", "price_minor": 900,
             "currency": "usd", "status": "live", "created_at": now,
             "fulfilment_sla_minutes": 60 if i % 2 else None} for i in range(10)])  # fmt: skip
        conn.execute(sa.insert(ExecutionTask.__table__), [
            {"id": f"task_{p}", "kind": "system", "type": "fulfilment.order",
             "status": "succeeded", "attempts": 1, "max_attempts": 3, "created_at": now}
            for p in range(2)])  # fmt: skip
        for start in range(0, orders, BATCH):
            rows, steps = [], []
            for n in range(start, min(start + BATCH, orders)):
                waiting = n >= orders - open_orders
                paid = now - timedelta(minutes=(orders - n) % 10_000 + 1)
                rows.append({"id": f"ord_{n:09d}", "offer_id": f"offer_{n % 10}",
                             "amount_minor": 900, "currency": "usd", "created_at": paid,
                             "status": "paid" if waiting else "fulfilled", "paid_at": paid,
                             "fulfilled_at": None if waiting else paid})  # fmt: skip
                provider = PROVIDERS[n % 2]
                steps.append({"id": f"ful_{n:09d}", "order_id": f"ord_{n:09d}", "step": "deliver",
                              "provider": provider, "idempotency_key": f"ord_{n:09d}:deliver",
                              "status": OPEN_STATES[n % 4] if waiting else "done",
                              "attempts": 1 + (n % 3), "throttled": n % 2,
                              "task_id": f"task_{n % 2}", "created_at": paid,
                              "finished_at": None if waiting else paid})  # fmt: skip
            conn.execute(sa.insert(Order.__table__), rows)
            conn.execute(sa.insert(Fulfilment.__table__), steps)
        conn.execute(sa.insert(TaskSpan.__table__), [
            {"task_id": f"task_{n % 2}", "trace_id": "0" * 32,
             "span_id": f"{n:016x}", "name": "POST", "kind": "http",
             "started_at": now - timedelta(seconds=3600 * n / calls), "duration_us": 20_000,
             "attributes": {"server.address": PROVIDERS[n % 2],
                            "http.response.status_code": 500 if n % 7 == 0 else 200,
                            "governor.outbound.attempts": 1}}
            for n in range(calls)])  # fmt: skip


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def measure(kind: str, url: str, orders: int, open_orders: int, calls: int, runs: int) -> None:
    from governor.config import get_settings
    from governor.offers import fulfilment_queue, provider_health
    from governor.storage.db import create_engine, refresh_statistics, session_scope
    from governor.storage.migrate import migrate

    engine = create_engine(url)
    migrate(engine, "upgrade", "head", backup=False)
    start = time.perf_counter()
    fill(engine, orders, open_orders, calls)
    with session_scope(engine) as session:
        refresh_statistics(session)  # SQLite's planner statistics
    if kind == "postgresql":  # autovacuum has not looked at the new rows yet
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    filled = time.perf_counter() - start
    settings = get_settings()

    def page() -> None:
        with session_scope(engine, readonly=True) as session:
            rows = fulfilment_queue.queue(session, limit=51)
            counts = fulfilment_queue.counts(session)
            assert counts.total == open_orders and len(rows) == min(51, open_orders)

    def health() -> None:
        with session_scope(engine, readonly=True) as session:
            assert len(provider_health.health(session, settings)) == 2

    def waiting() -> None:
        with engine.connect() as conn:
            assert conn.execute(sa.text(WAITING)).scalar() == open_orders

    queue_ms, health_ms = samples_ms(page, runs), samples_ms(health, runs)
    floor_ms = samples_ms(waiting, runs)
    engine.dispose()
    common = {"database": kind, "orders": orders, "open": open_orders, "calls": calls,
              "runs": runs, "fill_seconds": round(filled, 1)}  # fmt: skip
    report("fulfilment_queue_p95_ms", p95(queue_ms), "ms", "count_waiting_orders_p95_ms",
           p95(floor_ms), p50=round(statistics.median(queue_ms), 2), goal=f"<= {GOAL_MS} ms",
           **common)  # fmt: skip
    report("provider_health_p95_ms", p95(health_ms), "ms", "count_waiting_orders_p95_ms",
           p95(floor_ms), p50=round(statistics.median(health_ms), 2), **common)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--open", type=int, default=500, help="paid orders still waiting")
    parser.add_argument("--calls", type=int, default=2_000, help="outside calls in the hour")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    for kind, url in each_database(args.database):
        measure(kind, url, args.orders, args.open, args.calls, args.runs)


if __name__ == "__main__":
    main()
