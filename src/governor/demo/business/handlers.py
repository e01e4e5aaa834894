"""The demo agents' task handlers (registered on import): real handlers whose model and outside
calls are simulated, so they cost nothing and reach nobody, but are timed, traced and priced
like real ones: spans around their steps, `record_llm_usage` for each model call."""

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import func, select

import governor
from governor.demo.business.catalog import TASKS
from governor.demo.business.plan import PRICE_LADDER
from governor.errors import NotFound
from governor.models import Idea, Offer, Order
from governor.models.types import utcnow
from governor.offers import lifecycle
from governor.offers import service as offers
from governor.revenue.orders import sync_orders_from_ledger
from governor.storage.db import session_scope

_tracer = trace.get_tracer("governor.demo")
FAILURE_RATE = 0.03
"""How often a simulated model call fails (the engine retries the task)."""
MAX_OFFERS = 3
"""create_offer makes no further offer for an idea that has this many."""


class PaymentPending(Exception):
    """The order's charge has not reached the ledger yet: the engine tries again shortly."""


class ModelError(Exception):
    """A simulated provider error (rate limit, timeout)."""


@contextmanager
def _http(
    method: str, url: str, rng: random.Random, seconds: tuple[float, float]
) -> Iterator[None]:
    """A simulated outside call: a client span with the HTTP attributes, and its wait."""
    attributes = {
        "http.request.method": method,
        "url.full": url,
        "server.address": url.split("/")[2],
    }
    with _tracer.start_as_current_span(method, kind=SpanKind.CLIENT, attributes=attributes) as span:
        time.sleep(rng.uniform(*seconds))
        yield
        span.set_attribute("http.response.status_code", 201 if method in ("POST", "PUT") else 200)


def _chat(type: str, rng: random.Random, seconds: tuple[float, float]) -> str:
    """A simulated model call of a task type: its span, its wait, its usage recorded."""
    kind = TASKS[type]
    use = rng.choices(kind.models, [m.weight for m in kind.models])[0]
    provider = "anthropic" if use.model.startswith("claude") else "openai"
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": use.model,
    }
    with _tracer.start_as_current_span(
        f"chat {use.model}", kind=SpanKind.CLIENT, attributes=attributes
    ) as span:
        time.sleep(rng.uniform(*seconds))
        if rng.random() < FAILURE_RATE:
            raise ModelError(f"RateLimitError: 429 from {provider}: rate limit reached")
        tokens_in, tokens_out = rng.randint(*use.input_tokens), rng.randint(*use.output_tokens)
        span.set_attribute("gen_ai.usage.input_tokens", tokens_in)
        span.set_attribute("gen_ai.usage.output_tokens", tokens_out)
        governor.record_llm_usage(use.model, input_tokens=tokens_in, output_tokens=tokens_out)
    return use.model


@governor.task("fulfill_order", max_attempts=6, timeout=120, backoff=0.5)
def fulfill_order(ctx: Any) -> dict[str, Any]:
    """Deliver a paid order: draft it with a model, store it, mark it fulfilled, record its
    cost, email the customer."""
    order_id = ctx.input["order_id"]
    rng = random.Random(f"{ctx.task_id}:{ctx.attempt}")
    with session_scope() as session:
        order = session.get(Order, order_id)
        if order is None:
            raise NotFound(f"No order {order_id}.")
        if order.paid_at is None:  # the charge may have reached the ledger since
            sync_orders_from_ledger(session, [order_id])
        status, currency, amount = order.status, order.currency, order.amount_minor
    if status == "failed":
        return {"order_id": order_id, "skipped": "its payment failed"}
    if status == "pending":
        raise PaymentPending(f"order {order_id}: no succeeded charge in the ledger yet")
    with governor.span("draft the deliverable"):
        model = _chat("fulfill_order", rng, (0.2, 1.0))
    url = f"https://storage.googleapis.com/acme-deliverables/{order_id}.pdf"
    with _http("PUT", url, rng, (0.05, 0.3)):
        pass
    with session_scope() as session:
        now = utcnow()
        offers.mark_fulfilled(session, order_id, at=now)
        offers.record_cost(
            session,
            kind="fulfilment_cost",
            amount_minor=max(50, amount * rng.randint(3, 10) // 100),
            currency=currency,
            occurred_at=now,
            order_id=order_id,
            task_id=ctx.task_id,
            description="Deliverable storage, review and email",
        )
    with _http("POST", "https://api.postmarkapp.com/email", rng, (0.05, 0.2)):
        pass
    return {"order_id": order_id, "deliverable": url, "model": model}


@governor.task("implement_idea", max_attempts=3, timeout=120, backoff=1.0)
def implement_idea(ctx: Any) -> dict[str, Any]:
    """Build (a next version of) an idea: plan and code with models, open a pull request."""
    idea_id = ctx.input["idea_id"]
    rng = random.Random(f"{ctx.task_id}:{ctx.attempt}")
    with session_scope(readonly=True) as session:
        idea = session.get(Idea, idea_id)
        if idea is None:
            raise NotFound(f"No idea {idea_id}.")
    with governor.span("build the product"):
        for _ in range(2):
            _chat("implement_idea", rng, (0.2, 0.7))
    with _http("POST", "https://api.github.com/repos/acme-ai/products/pulls", rng, (0.1, 0.3)):
        pass
    with session_scope() as session:
        idea = session.get(Idea, idea_id)
        if idea is not None and idea.status in ("proposed", "approved"):
            idea.status = "building"
    return {"idea_id": idea_id, "pull_request": rng.randint(100, 999)}


@governor.task("create_offer", max_attempts=3, timeout=60, backoff=1.0)
def create_offer(ctx: Any) -> dict[str, Any]:
    """Research the market and price an offer for an idea: put its draft live, or add one."""
    idea_id = ctx.input["idea_id"]
    rng = random.Random(f"{ctx.task_id}:{ctx.attempt}")
    with _http("GET", "https://serpapi.com/search", rng, (0.1, 0.4)):
        pass
    _chat("create_offer", rng, (0.2, 0.8))
    with session_scope() as session:
        idea = session.get(Idea, idea_id)
        if idea is None:
            raise NotFound(f"No idea {idea_id}.")
        draft = session.scalar(
            select(Offer).where(Offer.idea_id == idea_id, Offer.status == "draft")
        )
        if draft is not None:
            lifecycle.set_status(session, draft.id, "live", reason="researched and priced")
            idea.status = "live"
            return {"offer_id": draft.id, "went_live": True}
        count = (
            session.scalar(select(func.count()).select_from(Offer).where(Offer.idea_id == idea_id))
            or 0
        )
        if count >= MAX_OFFERS:
            return {"idea_id": idea_id, "skipped": f"the idea has {count} offers already"}
        offer = offers.create_offer(
            session,
            idea_id=idea_id,
            title=f"{idea.title}: express",
            currency="usd",
            price_minor=rng.choice(PRICE_LADDER[2:10]),
        )
        return {"offer_id": offer.id, "went_live": True}


@governor.task("write_copy", max_attempts=3, timeout=60, backoff=1.0)
def write_copy(ctx: Any) -> dict[str, Any]:
    """Write new sales copy for an offer."""
    offer_id = ctx.input["offer_id"]
    rng = random.Random(f"{ctx.task_id}:{ctx.attempt}")
    with session_scope(readonly=True) as session:
        offer = session.get(Offer, offer_id)
        if offer is None:
            raise NotFound(f"No offer {offer_id}.")
        title = offer.title
    model = _chat("write_copy", rng, (0.1, 0.6))
    return {"offer_id": offer_id, "headline": f"{title}, done for you today", "model": model}
