"""2,000 paid orders fulfilled through a provider allowing 100 calls/s (429 past it, 5% random
500s): makespan against the ideal 20 s, effects per order; baseline: Governor's limiter off."""

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import func, select

from common import fresh_databases, report, run_embedded
from governor.config import get_settings
from governor.jobs import load
from governor.models import Fulfilment, Order
from governor.models.types import utcnow
from governor.offers import service as offers
from governor.revenue.paid import submit_fulfilments
from governor.storage.db import dispose_engines, get_engine, session_scope
from governor.storage.migrate import migrate
from tests.e2e.processes import wait_until
from tests.support.ports import free_port

ORDERS, RATE, FAIL, CONCURRENCY, RUNS = 2000, 100, 0.05, 32, 3
IDEAL_S = ORDERS / RATE
MARGIN = 0.02  # GOVERNOR_OUTBOUND_LIMIT_MARGIN for the limited runs (the default is 0.1)


@contextmanager
def provider(seed: int) -> Iterator[str]:
    """The provider stand-in in its own process (its event loop shares no GIL with Governor)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "governor.demo.provider_server", "--port", str(port),
         "--rate", str(RATE), "--fail", str(FAIL), "--seed", str(seed)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/effects", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, "the provider to answer", 30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def prepare(url: str, provider_url: str, limited: bool) -> None:
    """A migrated database with ORDERS paid orders whose fulfilment tasks wait to run."""
    os.environ["GOVERNOR_DATABASE_URL"] = url
    os.environ["GOVERNOR_OUTBOUND_LIMITS"] = f"127.0.0.1={RATE}/s" if limited else ""
    os.environ["GOVERNOR_OUTBOUND_LIMIT_MARGIN"] = str(MARGIN)
    get_settings.cache_clear()
    dispose_engines()
    migrate(get_engine(), "upgrade", "head", backup=False)
    with session_scope() as session:
        idea = offers.create_idea(session, title="Bench")
        offer = offers.create_offer(session, idea_id=idea.id, title="Guide", price_minor=900,
                                    currency="usd")  # fmt: skip
        offer.fulfilment_type = "deliver_file"
        offer.fulfilment_config = {"url": f"{provider_url}/deliveries", "file": "guide.pdf"}
        paid = []
        for n in range(ORDERS):
            customer = offers.create_customer(session, email=f"c{n}@example.com")
            order = offers.create_order(session, offer_id=offer.id, customer_id=customer.id)
            offers.mark_paid(session, order.id, charge_id=f"ch_{n}", at=utcnow())
            paid.append(order.id)
        submit_fulfilments(session, paid)


def one_run(url: str, limited: bool, seed: int) -> dict[str, float]:
    """Fulfil every order once; the makespan and what the provider saw."""
    with provider(seed) as provider_url:
        prepare(url, provider_url, limited)
        elapsed = run_embedded(get_engine(), CONCURRENCY)
        seen = httpx.get(f"{provider_url}/effects", timeout=30).json()
    with session_scope(readonly=True) as session:
        fulfilled = session.scalar(select(func.count()).where(Order.status == "fulfilled"))
        keys = set(session.scalars(select(Fulfilment.idempotency_key)))
    dispose_engines()
    effects = seen["effects"]
    return {"makespan_s": elapsed, "fulfilled": fulfilled or 0, "429s": seen["throttled"],
            "500s": seen["failed"], "calls": seen["requests"],
            "exactly_one": int(set(effects) == keys and set(effects.values()) == {1}),
            "lost": ORDERS - len(effects)}  # fmt: skip


def main() -> None:
    """Print the figures as JSON lines: per database, limiter on beside limiter off."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--runs", type=int, default=RUNS)
    given = parser.parse_args()
    load()
    for kind, fresh in fresh_databases(given.db, 2 * given.runs):
        results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for n, url in enumerate(fresh):
            limited = n % 2 == 0
            results[limited].append(one_run(url, limited, seed=n))
            print(f"# {kind} limited={limited} {results[limited][-1]}", file=sys.stderr)
        on = statistics.median(r["makespan_s"] for r in results[True])
        off = statistics.median(r["makespan_s"] for r in results[False])
        every = results[True] + results[False]
        report(f"fulfilment makespan, {ORDERS} orders at {RATE}/s ({kind}, median of "
               f"{given.runs})", on, "s", "same orders, Governor's limiter off", off,
               ideal_s=IDEAL_S, ratio_to_ideal=round(on / IDEAL_S, 3),
               baseline_ratio_to_ideal=round(off / IDEAL_S, 3), margin=MARGIN,
               provider_429s=[r["429s"] for r in results[True]],
               baseline_provider_429s=[r["429s"] for r in results[False]],
               provider_500s=[r["500s"] for r in every],
               exactly_one_effect_per_order=all(r["exactly_one"] for r in every),
               lost=sum(r["lost"] for r in every),
               fulfilled=[r["fulfilled"] for r in every])  # fmt: skip


if __name__ == "__main__":
    main()
