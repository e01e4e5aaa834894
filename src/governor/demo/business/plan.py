"""The simulated business's history as a plan: pure, drawn from one seeded random generator.

Everything is placed relative to the window's start, so the same seed, days and scenario give
the same ideas, offers, prices, orders, amounts, tasks and tokens whatever the end time; only
the weekly rhythm follows the calendar (the weekday each day of the window falls on).
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from governor.demo.business.catalog import (
    COSTS,
    ERRORS,
    FIRST_NAMES,
    IDEAS,
    LAST_NAMES,
    TASKS,
    IdeaSpec,
    ModelUse,
    TaskKind,
    email,
)
from governor.demo.business.scenarios import Scenario
from governor.tasks.usage import price_call

DAY = timedelta(days=1)
PRICE_LADDER = (
    900,
    1500,
    1900,
    2400,
    2900,
    3500,
    3900,
    4500,
    4900,
    5900,
    6900,
    7900,
    8900,
    9900,
    12900,
    14900,
    19900,
    24900,
    29900,
    39900,
)
WEEKDAY = (1.1, 1.15, 1.1, 1.05, 0.95, 0.7, 0.75)
"""Orders by weekday (Monday first), relative to the average day."""
HOURS = (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 10, 11, 11, 10, 9, 8, 8, 7, 6, 4, 3)
"""Orders by UTC hour: Europe's day, then America's."""
ORDERS_PER_POPULARITY = 1.15
"""Orders a day per unit of an offer's popularity, at the start of the window."""
GROWTH = 0.8
"""How much more the same offers sell at the end of the window than at its start."""
FAILURE_RATE, RETRY_RATE = 0.035, 0.4
REFUND_RATE, PARTIAL_REFUND_RATE, DISPUTE_RATE, DISPUTE_WIN_RATE = 0.03, 0.25, 0.006, 0.5
REPEAT_CUSTOMER_RATE = 0.18
PAYOUT_EVERY = timedelta(days=3)
COPY_EVERY_DAYS = 7
DECLINES = (
    ("card_declined", "Your card was declined."),
    ("insufficient_funds", "Your card has insufficient funds."),
    ("expired_card", "Your card has expired."),
    ("incorrect_cvc", "Your card's security code is incorrect."),
)


@dataclass
class PlannedSpan:
    """One step of a task: offsets from the task's start, in microseconds; db names use {db}."""

    name: str
    kind: str
    parent: int | None
    start_us: int
    duration_us: int
    attributes: dict[str, Any]


@dataclass
class PlannedTask:
    """One run of an agent task: when, how it ended, what it cost, what it worked on."""

    type: str
    status: str
    attempts: int
    created_at: datetime
    started_at: datetime
    duration_ms: int
    ai_model: str | None
    tokens_in: int
    tokens_out: int
    cost_micros: int | None
    price_version: str | None
    error: str | None
    spans: list[PlannedSpan]
    idea: int | None = None
    offer: int | None = None
    order: int | None = None
    id: str = ""  # given when it is written

    @property
    def finished_at(self) -> datetime:
        return self.started_at + timedelta(milliseconds=self.duration_ms)


@dataclass
class PlannedOffer:
    key: int
    idea: int
    title: str
    price_minor: int
    currency: str
    status: str
    created_at: datetime
    popularity: float
    retired_at: datetime | None = None


@dataclass
class PlannedIdea:
    key: int
    title: str
    description: str
    status: str
    created_at: datetime


@dataclass
class PlannedCustomer:
    key: int
    name: str
    email: str
    stripe_id: str
    created_at: datetime


@dataclass
class PlannedCharge:
    at: datetime
    succeed: bool
    decline: tuple[str, str] | None = None


@dataclass
class PlannedOrder:
    key: int
    offer: int
    customer: int
    created_at: datetime
    amount_minor: int
    currency: str
    charges: list[PlannedCharge]
    refund: tuple[datetime, int] | None = None
    dispute: tuple[datetime, datetime | None, bool] | None = None
    fulfilment: list[PlannedTask] = field(default_factory=list)
    cost_minor: int = 0

    @property
    def paid(self) -> bool:
        return any(c.succeed for c in self.charges)

    @property
    def fulfilled_at(self) -> datetime | None:
        done = [t for t in self.fulfilment if t.status == "succeeded"]
        return done[-1].finished_at if done else None


@dataclass
class Plan:
    """The whole history: objects, money movements (for the stand-in), tasks, payouts, costs."""

    seed: int
    days: int
    start: datetime
    end: datetime
    scenario: str | None
    ideas: list[PlannedIdea] = field(default_factory=list)
    offers: list[PlannedOffer] = field(default_factory=list)
    customers: list[PlannedCustomer] = field(default_factory=list)
    orders: list[PlannedOrder] = field(default_factory=list)
    tasks: list[PlannedTask] = field(default_factory=list)
    payouts: list[datetime] = field(default_factory=list)
    costs: list[tuple[str, int, str, str, datetime]] = field(default_factory=list)

    def all_tasks(self) -> list[PlannedTask]:
        """Every task, the orders' fulfilments included, oldest first."""
        tasks = self.tasks + [t for o in self.orders for t in o.fulfilment]
        return sorted(tasks, key=lambda t: t.created_at)


def build(*, seed: int, days: int, end: datetime, scenario: Scenario | None = None) -> Plan:
    """Draw the business's history over the `days` before `end`."""
    rng = random.Random(seed)
    plan = Plan(seed, days, end - days * DAY, end, scenario.name if scenario else None)
    _catalog(plan, rng)
    _orders(plan, rng, scenario)
    _idea_and_offer_tasks(plan, rng, scenario)
    plan.payouts = [
        t
        for k in range(1, days * DAY // PAYOUT_EVERY + 1)
        if (t := plan.start + k * PAYOUT_EVERY + timedelta(hours=2)) < end
    ]
    for month in range(days // 30 + 1):
        for kind, amount, currency, description in COSTS:
            when = plan.start + timedelta(days=30 * month, hours=6)
            if when < end:
                plan.costs.append((kind, amount, currency, description, when))
    return plan


# Ideas and offers ----------------------------------------------------------------------------


def _catalog(plan: Plan, rng: random.Random) -> None:
    count = rng.randint(6, min(10, len(IDEAS)))
    chosen: list[IdeaSpec] = rng.sample(IDEAS, count)
    launches = [-rng.uniform(20, 60) for _ in range(3)]
    launches += sorted(rng.uniform(0.05, 0.8) * plan.days for _ in range(count - 3))
    for key, (spec, day) in enumerate(zip(chosen, launches, strict=True)):
        created = plan.start + timedelta(days=day)
        status = "live"
        if key == count - 1:
            status, created = "proposed", plan.start + timedelta(days=0.93 * plan.days)
        elif key == count - 2 and count >= 7:
            status, created = "building", plan.start + timedelta(days=0.85 * plan.days)
        plan.ideas.append(PlannedIdea(key, spec.title, spec.description, status, created))
        if status == "proposed":
            continue
        wanted = min(len(spec.offers), rng.choice((1, 2, 2, 3)))
        if key < 3 and any(o.currency != "usd" for o in spec.offers):
            wanted = len(spec.offers)  # an established idea sells in Europe too
        at = created + timedelta(days=rng.uniform(1.5, 5))
        for index, offer in enumerate(spec.offers[:wanted]):
            if index:
                at += timedelta(days=rng.uniform(4, 30))
            if at >= plan.end:
                break
            price = _price(offer.price_minor, rng)
            plan.offers.append(
                PlannedOffer(
                    len(plan.offers),
                    key,
                    offer.title,
                    price,
                    offer.currency,
                    "draft" if status == "building" else "live",
                    at,
                    offer.popularity,
                )
            )
    # With enough ideas, an early one (not the one selling in euros) stopped selling two
    # thirds of the way through.
    usd_only = [
        k for k in (2, 1, 0) if all(o.currency == "usd" for o in plan.offers if o.idea == k)
    ]
    if count >= 8 and usd_only:
        retired_at = plan.start + timedelta(days=0.65 * plan.days)
        plan.ideas[usd_only[0]].status = "retired"
        for made in plan.offers:
            if made.idea == usd_only[0]:
                made.status, made.retired_at = "retired", retired_at


def _price(catalog_price: int, rng: random.Random) -> int:
    """The catalog price, or a rung above or below on the price ladder."""
    rung = PRICE_LADDER.index(catalog_price)
    step = rng.choice((-1, 0, 0, 0, 1))
    return PRICE_LADDER[min(max(rung + step, 0), len(PRICE_LADDER) - 1)]


# Orders and their money ----------------------------------------------------------------------


def _orders(plan: Plan, rng: random.Random, scenario: Scenario | None) -> None:
    by_currency: dict[str, list[int]] = {}
    for day in range(plan.days):
        day_start = plan.start + day * DAY
        rate = ORDERS_PER_POPULARITY * (1 + GROWTH * day / plan.days)
        rate *= WEEKDAY[day_start.weekday()] * rng.uniform(0.85, 1.15)
        live = [o for o in plan.offers if o.status != "draft"]
        for _ in range(_poisson(rng, rate * sum(o.popularity for o in live))):
            at = day_start + timedelta(
                hours=rng.choices(range(24), HOURS)[0], seconds=rng.uniform(0, 3600)
            )
            weights = [_weight(o, at) for o in live]
            if not live or sum(weights) == 0:
                continue
            offer = rng.choices(live, weights)[0]
            last = scenario is not None and at >= plan.end - scenario.last_days * DAY
            order = _order(plan, rng, offer, at, by_currency, scenario if last else None)
            if order.created_at < plan.end:
                plan.orders.append(order)
    plan.orders.sort(key=lambda o: o.created_at)


def _weight(offer: PlannedOffer, at: datetime) -> float:
    """How likely an order at `at` is for this offer: none before launch or after retirement,
    a ramp over its first week."""
    if at < offer.created_at or (offer.retired_at is not None and at >= offer.retired_at):
        return 0.0
    age = (at - offer.created_at) / DAY
    return offer.popularity * min(1.0, 0.2 + age / 7)


def _order(
    plan: Plan,
    rng: random.Random,
    offer: PlannedOffer,
    at: datetime,
    by_currency: dict[str, list[int]],
    scenario: Scenario | None,
) -> PlannedOrder:
    known = by_currency.setdefault(offer.currency, [])
    if known and rng.random() < REPEAT_CUSTOMER_RATE:
        customer = rng.choice(known)
    else:
        customer = _customer(plan, rng, at)
        known.append(customer)
    order = PlannedOrder(
        len(plan.orders), offer.key, customer, at, offer.price_minor, offer.currency, []
    )
    charge_at = at + timedelta(seconds=rng.uniform(15, 90))
    fail_rate = scenario.failure_rate if scenario and scenario.failure_rate else FAILURE_RATE
    if rng.random() < fail_rate:
        order.charges.append(PlannedCharge(charge_at, False, rng.choice(DECLINES)))
        if rng.random() < RETRY_RATE:
            charge_at += timedelta(minutes=rng.uniform(3, 40))
            order.charges.append(PlannedCharge(charge_at, True))
    else:
        order.charges.append(PlannedCharge(charge_at, True))
    double = scenario.double_charge_rate if scenario else None
    if double and order.paid and rng.random() < double:  # a retry that should not have been
        order.charges.append(PlannedCharge(charge_at + timedelta(seconds=40), True))
    if not order.paid:
        return order
    refund_rate = scenario.refund_rate if scenario and scenario.refund_rate else REFUND_RATE
    draw, partial, refund_delay = rng.random(), rng.random(), rng.uniform(0.5, 12)
    dispute_draw, open_delay, close_delay, won = (
        rng.random(),
        rng.uniform(4, 25),
        rng.uniform(7, 21),
        rng.random(),
    )
    if scenario and scenario.refund_rate:
        refund_delay = rng.uniform(0.05, 1.0)
    if draw < refund_rate:
        amount = order.amount_minor // 2 if partial < PARTIAL_REFUND_RATE else order.amount_minor
        order.refund = (charge_at + timedelta(days=refund_delay), amount)
    elif dispute_draw < DISPUTE_RATE:
        opened = charge_at + timedelta(days=open_delay)
        closed = opened + timedelta(days=close_delay)
        order.dispute = (opened, closed if closed < plan.end else None, won < DISPUTE_WIN_RATE)
    order.fulfilment = _fulfilment(rng, order, offer, charge_at, scenario)
    order.cost_minor = max(50, round(order.amount_minor * rng.uniform(0.03, 0.10)))
    # Money and work that would happen after the end of the window did not happen yet.
    if order.refund and order.refund[0] >= plan.end:
        order.refund = None
    if order.dispute and order.dispute[0] >= plan.end:
        order.dispute = None
    order.fulfilment = [t for t in order.fulfilment if t.finished_at < plan.end]
    return order


def _customer(plan: Plan, rng: random.Random, at: datetime) -> int:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    key = len(plan.customers)
    address = email(first, last, str(key))
    stripe_id = "cus_" + "".join(
        rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(14)
    )
    plan.customers.append(PlannedCustomer(key, f"{first} {last}", address, stripe_id, at))
    return key


def _fulfilment(
    rng: random.Random,
    order: PlannedOrder,
    offer: PlannedOffer,
    paid_at: datetime,
    scenario: Scenario | None,
) -> list[PlannedTask]:
    """The fulfil_order runs of a paid order: usually one; a failed one is retried later."""
    created = paid_at + timedelta(seconds=rng.uniform(2, 90))
    runs = []
    for _ in range(2):
        task = _task(rng, TASKS["fulfill_order"], created, scenario)
        task.offer, task.idea, task.order = offer.key, offer.idea, order.key
        runs.append(task)
        if task.status == "succeeded":
            break
        created = task.finished_at + timedelta(hours=rng.uniform(1, 6))  # a person retried it
    return runs


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


# Tasks ---------------------------------------------------------------------------------------


def _idea_and_offer_tasks(plan: Plan, rng: random.Random, scenario: Scenario | None) -> None:
    for idea in plan.ideas:
        if idea.status == "proposed":
            continue
        at = idea.created_at + timedelta(hours=rng.uniform(1, 8))
        for _ in range(rng.randint(1, 2)):
            task = _task(rng, TASKS["implement_idea"], at, None)
            task.idea = idea.key
            plan.tasks.append(task)
            at = task.finished_at + timedelta(hours=rng.uniform(2, 30))
    for offer in plan.offers:
        made = _task(rng, TASKS["create_offer"], offer.created_at - timedelta(minutes=10), None)
        made.idea, made.offer = offer.idea, offer.key
        plan.tasks.append(made)
        at = offer.created_at + timedelta(minutes=rng.uniform(5, 60))
        stop = offer.retired_at or plan.end
        while at < stop:
            copy = _task(rng, TASKS["write_copy"], at, None)
            copy.idea, copy.offer = offer.idea, offer.key
            plan.tasks.append(copy)
            if offer.status == "draft":
                break
            at += timedelta(days=COPY_EVERY_DAYS + rng.uniform(-1, 1))
    plan.tasks = [t for t in plan.tasks if t.finished_at < plan.end]
    plan.tasks.sort(key=lambda t: t.created_at)


def _task(
    rng: random.Random, kind: TaskKind, created: datetime, scenario: Scenario | None
) -> PlannedTask:
    """One run: its model calls, the steps around them as spans, and how it ended."""
    failure_rate = kind.failure_rate
    if scenario and scenario.task_failure_rate:
        failure_rate = scenario.task_failure_rate
    failed = rng.random() < failure_rate
    retried = not failed and rng.random() < kind.retry_rate
    use: ModelUse = rng.choices(kind.models, [m.weight for m in kind.models])[0]
    model, factor = use.model, 1.0
    if scenario and scenario.model and kind.type == "fulfill_order":
        model, factor = scenario.model, scenario.token_factor or 1.0
    calls = []
    for _ in range(rng.randint(*kind.calls)):
        tokens_in = int(rng.randint(*use.input_tokens) * factor)
        tokens_out = int(rng.randint(*use.output_tokens) * factor)
        latency_ms = int(400 + 1000 * tokens_out / use.tokens_per_s * rng.uniform(0.8, 1.3))
        calls.append((model, tokens_in, tokens_out, latency_ms))
    error = rng.choice(ERRORS) if failed else None
    spans = task_spans(rng, kind, calls, error)
    answered = sum(1 for s in spans if s.kind == "llm" and "error.type" not in s.attributes)
    priced = [
        price_call(m, provider=None, input_tokens=i, output_tokens=o)
        for m, i, o, _ in calls[:answered]
    ]
    costs = [p.cost_micros for p in priced if p.cost_micros is not None]
    started = created + timedelta(milliseconds=rng.randint(40, 2500))
    if retried:  # the first attempt failed: the one shown ran after its backoff
        started += timedelta(seconds=rng.uniform(20, 90))
    return PlannedTask(
        type=kind.type,
        status="failed" if failed else "succeeded",
        attempts=3 if failed else (2 if retried else 1),
        created_at=created,
        started_at=started,
        duration_ms=spans[0].duration_us // 1000,
        ai_model=model if priced else None,
        tokens_in=sum(p.input_tokens for p in priced),
        tokens_out=sum(p.output_tokens for p in priced),
        cost_micros=sum(costs) if costs else None,
        price_version=next((p.price_version for p in priced if p.price_version), None),
        error=error,
        spans=spans,
    )


_SELECT = {
    "implement_idea": "SELECT ideas.id, ideas.title FROM ideas WHERE ideas.id = ?",
    "create_offer": "SELECT ideas.id, ideas.status FROM ideas WHERE ideas.id = ?",
    "write_copy": "SELECT offers.id, offers.title FROM offers WHERE offers.id = ?",
    "fulfill_order": "SELECT orders.id, orders.status FROM orders WHERE orders.id = ?",
}
_WRITE = {
    "implement_idea": "UPDATE ideas SET status=? WHERE ideas.id = ?",
    "create_offer": "INSERT INTO offers (id, idea_id, title, price_minor, currency, status) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "write_copy": "UPDATE offers SET title=? WHERE offers.id = ?",
    "fulfill_order": "UPDATE orders SET status=?, fulfilled_at=? WHERE orders.id = ?",
}
_PROVIDERS = {"gpt": "openai", "cla": "anthropic"}


def task_spans(
    rng: random.Random, kind: TaskKind, calls: list[tuple[str, int, int, int]], error: str | None
) -> list[PlannedSpan]:
    """The root span, a query, the model calls (inside a step for some types), the outside
    calls and a write: 4 to 8 spans. A failed run stops at the model call that failed."""
    spans = [PlannedSpan(f"task {kind.type}", "internal", None, 0, 0, {})]
    cursor = rng.randint(300, 2000)

    def add(name: str, kind_: str, parent: int, duration_us: int, **attributes: Any) -> int:
        nonlocal cursor
        cursor += rng.randint(100, 3000)
        spans.append(PlannedSpan(name, kind_, parent, cursor, duration_us, attributes))
        cursor += duration_us
        return len(spans) - 1

    def db(statement: str) -> None:
        operation = statement.split(" ", 1)[0]
        add(
            f"{operation} {{db}}",
            "db",
            0,
            rng.randint(400, 9000),
            **{
                "db.system": "{db}",
                "db.statement": statement,
                "db.operation": operation,
                "db.calls": 1,
            },
        )

    def http(method: str, url: str) -> None:
        add(
            method,
            "http",
            0,
            rng.randint(60_000, 900_000),
            **{
                "http.request.method": method,
                "url.full": url,
                "server.address": url.split("/")[2],
                "http.response.status_code": 201 if method in ("POST", "PUT") else 200,
            },
        )

    db(_SELECT[kind.type])
    if kind.type == "create_offer":
        http("GET", "https://serpapi.com/search")
    step = add(kind.step, "internal", 0, 0) if kind.step else 0
    fail_at = rng.randrange(len(calls)) if error else None
    for index, (model, tokens_in, tokens_out, latency_ms) in enumerate(calls):
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": _PROVIDERS[model[:3]],
            "gen_ai.request.model": model,
        }
        if index == fail_at:
            attributes.update(
                {
                    "error.type": (error or "").split(":")[0],
                    "otel.status_code": "ERROR",
                    "otel.status_description": error,
                }
            )
            add(
                f"chat {model}",
                "llm",
                step,
                min(latency_ms, rng.randint(300, 3000)) * 1000,
                **attributes,
            )
            break
        attributes.update(
            {"gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out}
        )
        add(f"chat {model}", "llm", step, latency_ms * 1000, **attributes)
    if step:
        spans[step].duration_us = cursor - spans[step].start_us + rng.randint(50, 400)
        cursor = spans[step].start_us + spans[step].duration_us
    if error is None:
        if kind.type == "implement_idea":
            http("POST", "https://api.github.com/repos/acme-ai/products/pulls")
        elif kind.type == "fulfill_order":
            http("PUT", "https://storage.googleapis.com/acme-deliverables/order.pdf")
        db(_WRITE[kind.type])
        if kind.type == "fulfill_order":
            http("POST", "https://api.postmarkapp.com/email")
    spans[0].duration_us = cursor + rng.randint(200, 2000)
    if error:
        spans[0].attributes = {"otel.status_code": "ERROR", "otel.status_description": error}
    return spans
