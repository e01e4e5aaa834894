"""Checkout sales through the webhook inbox handler: events handled per second (session, intent
and charge, each sale making and paying its order), beside card charges that name an existing
order in their metadata (the ledger's own path), on SQLite and PostgreSQL."""

import argparse
import statistics
import time
from typing import Any

from common import each_database, report


def _sales(
    count: int, offer_id: str, order_ids: list[str] | None, seed: int
) -> list[dict[str, Any]]:
    """The stand-in's events of `count` card sales, oldest first: checkout sessions, or plain
    charges naming `order_ids` when given (each seed its own ids)."""
    from governor.demo.stripe_server import Clock, StripeStore

    store = StripeStore(clock=Clock(1_767_225_600), seed=seed)
    for n in range(count):
        store.clock.advance(1)
        if order_ids is None:
            cs = store.open_session(2900, metadata={"offer_id": offer_id})
            store.pay_session(cs["id"], email=f"buyer{n}@example.com")
        else:
            store.create_charge(2900, metadata={"order_id": order_ids[n], "offer_id": offer_id})
    return list(reversed(store.all("events")))


def _handled_per_s(engine: Any, events: list[dict[str, Any]]) -> tuple[float, int]:
    from governor.revenue import inbox
    from governor.revenue.process import drain
    from governor.storage.db import session_scope

    with session_scope(engine) as session:
        inbox.store(session, events, origin="webhook")
    start = time.perf_counter()
    done = drain(engine, None)
    return done.handled / (time.perf_counter() - start), done.failed


def measure(kind: str, url: str, sales: int, rounds: int) -> None:
    from sqlalchemy import func, select

    from governor.models import Order
    from governor.offers import service as offers
    from governor.storage.db import create_engine, session_scope
    from governor.storage.migrate import migrate

    engine = create_engine(url)
    migrate(engine, "upgrade", "head", backup=False)
    with session_scope(engine) as session:
        idea = offers.create_idea(session, title="Bench")
        offer = offers.create_offer(session, idea_id=idea.id, title="Bench offer",
                                    price_minor=2900, currency="usd").id  # fmt: skip
    plain, checkout, failed = [], [], 0
    for round in range(rounds):  # alternated, so a busy machine slows both alike
        with session_scope(engine) as session:
            orders = [offers.create_order(session, offer_id=offer).id for _ in range(sales)]
        rate, errors = _handled_per_s(engine, _sales(sales, offer, orders, 2 * round))
        plain.append(rate)
        rate, more = _handled_per_s(engine, _sales(sales, offer, None, 2 * round + 1))
        checkout.append(rate)
        failed += errors + more
    with session_scope(engine, readonly=True) as session:
        paid = session.scalar(select(func.count()).where(Order.status == "paid")) or 0
    engine.dispose()
    report("checkout_events_per_s", statistics.median(checkout), "events/s",
           "charge_events_per_s", statistics.median(plain), database=kind, sales=sales,
           rounds=rounds, failed=failed, orders_paid=paid,
           orders_expected=2 * sales * rounds)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=1000, help="sales of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    for kind, url in each_database(args.database):
        measure(kind, url, args.sales, args.rounds)


if __name__ == "__main__":
    main()
