"""`demo --scale … --sessions N`: N checkout sessions with their views, orders, fulfilment steps
and ratings, in the demo's plausible ratios, as bulk rows in time order.

About 1.8 views per session; 32% of sessions expire (two in five after a payment intent was
made), more on one high-friction offer; 4% of completed sessions pay asynchronously and one in
five of those fails; 3% recover an expired session. A paid order is fulfilled through one of
three providers (2-4 attempts for 12% of steps, 429s on most retries, 1.5% fail, 0.5% need the
customer); 3% are refunded, 0.5% disputed; 30% of fulfilled orders are rated.
"""

import bisect
import math
import random
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from governor.models import CheckoutSession, Feedback, Fulfilment, FunnelEvent, Order
from governor.models.base import table_of

SESSION_COLUMNS = ("id", "offer_id", "status", "payment_status", "payment_intent_id",
                   "charge_id", "amount_total_minor", "currency", "created_at", "expires_at",
                   "completed_at", "expired_at", "async_payment", "async_payment_at",
                   "recovered_from", "order_id", "event_at")  # fmt: skip
EVENT_COLUMNS = ("id", "offer_id", "step", "at", "checkout_session_id", "visitor")
ORDER_COLUMNS = ("id", "offer_id", "amount_minor", "currency", "status", "stripe_charge_id",
                 "stripe_payment_intent_id", "checkout_session_id", "created_at", "paid_at",
                 "fulfilled_at")  # fmt: skip
FULFILMENT_COLUMNS = ("id", "order_id", "step", "provider", "idempotency_key", "status",
                      "attempts", "throttled", "created_at", "started_at",
                      "finished_at")  # fmt: skip
FEEDBACK_COLUMNS = ("id", "order_id", "offer_id", "idea_id", "rating", "source", "created_at")
TABLES = {
    "session": (table_of(CheckoutSession).name, SESSION_COLUMNS),
    "event": (table_of(FunnelEvent).name, EVENT_COLUMNS),
    "funnel_order": (table_of(Order).name, ORDER_COLUMNS),
    "fulfilment": (table_of(Fulfilment).name, FULFILMENT_COLUMNS),
    "feedback": (table_of(Feedback).name, FEEDBACK_COLUMNS),
}
"""The tables written, in the order a chunk is inserted (orders before what refers to them)."""
PROVIDERS = ("mailer", "licence-keys", "shipper")
RATINGS = ((5, 0.46), (4, 0.30), (3, 0.12), (2, 0.07), (1, 0.05))
HIGH_FRICTION = 2
"""The catalog's offer that loses more buyers at the payment step."""


def funnel_rows(
    rng: random.Random,
    catalog: list[tuple[str, str, str, int]],
    start: datetime,
    end: datetime,
    total: int,
    values: Any,
    moments: Iterator[float],
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """`total` checkout sessions at the growing `moments` (seconds from `start`), each after
    its views, with what followed it; `values` puts values in the driver's form."""
    tag_base = secrets.token_hex(3)
    weights = list(accumulate(1.0 if o[2] == "usd" else 0.35 for o in catalog))
    expired: list[str] = []
    for serial, offset in zip(range(total), moments, strict=False):
        index = bisect.bisect(weights, rng.random() * weights[-1])
        offer, idea, currency, price = catalog[index]
        opened = start + timedelta(seconds=offset)
        tag = f"{tag_base}{serial:09d}"
        session_id = f"cs_{tag}"
        visitor = f"v_{tag}"
        for n in range(1 + (rng.random() < 0.55) + (rng.random() < 0.25)):
            seen = opened - timedelta(seconds=30 + 600 * rng.random() * (n + 1))
            yield "event", (values.id("fev"), offer, "offer_viewed", values.time(seen), None,
                            visitor)  # fmt: skip
        lose = 0.32 + (0.25 if index == HIGH_FRICTION else 0.0)
        row = dict.fromkeys(SESSION_COLUMNS)
        row.update(id=session_id, offer_id=offer, amount_total_minor=price, currency=currency,
                   created_at=values.time(opened),
                   expires_at=values.time(opened + timedelta(hours=24)))  # fmt: skip
        if rng.random() < lose:
            at_payment = rng.random() < (0.7 if index == HIGH_FRICTION else 0.4)
            ended = opened + timedelta(hours=24)
            row.update(status="expired", payment_status="unpaid", expired_at=values.time(ended),
                       payment_intent_id=f"pi_{tag}" if at_payment else None,
                       event_at=values.time(ended))  # fmt: skip
            expired.append(session_id)
            del expired[:-1000]
            yield "session", tuple(row.values())
            continue
        paid_at = opened + timedelta(seconds=20 * math.exp(2.2 * rng.random()) + 15)
        asynchronous = rng.random() < 0.04
        failed = asynchronous and rng.random() < 0.2
        recovered = expired.pop() if expired and rng.random() < 0.03 else None
        order = None if failed else values.id("order")
        row.update(status="complete", payment_intent_id=f"pi_{tag}",
                   completed_at=values.time(paid_at),
                   payment_status="unpaid" if failed else "paid", recovered_from=recovered,
                   charge_id=None if failed else f"ch_{tag}", order_id=order,
                   event_at=values.time(paid_at))  # fmt: skip
        if asynchronous:
            paid_at += timedelta(hours=1 + 47 * rng.random())
            row.update(async_payment="failed" if failed else "succeeded",
                       async_payment_at=values.time(paid_at),
                       event_at=values.time(paid_at))  # fmt: skip
        yield "session", tuple(row.values())
        if order is not None:
            yield from _order(rng, values, order, offer, idea, currency, price, tag, paid_at,
                              end, serial)  # fmt: skip


def _order(
    rng: random.Random,
    values: Any,
    order: str,
    offer: str,
    idea: str,
    currency: str,
    price: int,
    tag: str,
    paid_at: datetime,
    end: datetime,
    serial: int,
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """A paid order, its fulfilment step and, for three in ten fulfilled ones, a rating."""
    draw = rng.random()
    attempts = 1 if draw < 0.88 else 2 + int(3 * rng.random()) if draw < 0.98 else 1
    status = "done" if draw < 0.98 else "action_required" if draw < 0.985 else "failed"
    attempts = 5 if status == "failed" else attempts
    throttled = sum(rng.random() < 0.7 for _ in range(attempts - 1))
    started = paid_at + timedelta(seconds=1 + 5 * rng.random())
    finished = min(started + timedelta(seconds=2 * math.exp(3 * rng.random()) * attempts), end)
    fulfilled = finished if status == "done" else None
    state = ("refunded" if status == "failed" and rng.random() < 0.5 else
             "paid" if status != "done" else
             "refunded" if rng.random() < 0.03 else "disputed" if rng.random() < 0.005 else
             "fulfilled")  # fmt: skip
    created = values.time(paid_at)
    yield "funnel_order", (order, offer, price, currency, state, f"ch_{tag}", f"pi_{tag}",
                           f"cs_{tag}", created, created,
                           None if fulfilled is None else values.time(fulfilled))  # fmt: skip
    yield "fulfilment", (values.id("ful"), order, "deliver", PROVIDERS[serial % len(PROVIDERS)],
                         f"{order}:deliver", status, attempts, throttled, created,
                         values.time(started), values.time(finished))  # fmt: skip
    if fulfilled is not None and rng.random() < 0.3:
        rating = _rating(rng)
        rated = min(fulfilled + timedelta(hours=2 + 70 * rng.random()), end)
        yield "feedback", (values.id("fb"), order, offer, idea, rating, "link",
                           values.time(rated))  # fmt: skip


_RATING_WEIGHTS = list(accumulate(w for _, w in RATINGS))


def _rating(rng: random.Random) -> int:
    pick = bisect.bisect(_RATING_WEIGHTS, rng.random() * _RATING_WEIGHTS[-1])
    return RATINGS[min(pick, len(RATINGS) - 1)][0]
