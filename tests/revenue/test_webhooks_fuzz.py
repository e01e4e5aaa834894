"""Fuzzing the webhook door with generated Stripe-shaped events, signed and not: every answer is
200 or a 4xx, and the inbox holds exactly the events that were answered 200."""

import json
import time
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.demo.stripe_server import sign
from governor.models import StripeEvent
from governor.revenue.webhook import CREATED_RANGE
from governor.storage.db import session_scope
from tests.revenue.conftest import SECRET


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` four times in five, else `bad`."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


# Any JSON value, with what Stripe never sends: NaN, huge numbers, NUL, lone surrogates.
evil_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
fair_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
text = mostly(fair_text, evil_text)
numbers = st.integers() | mostly(st.floats(allow_nan=False, allow_infinity=False), st.floats())
scalars = st.none() | st.booleans() | numbers | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def as_numbers(value: Any) -> Any:
    """The value with every number as a Decimal of its JSON text: PostgreSQL's JSONB keeps the
    number a float's shortest text says (3.9e+16 comes back as the integer 39000000000000000)."""
    return json.loads(json.dumps(value), parse_float=Decimal, parse_int=Decimal)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A Stripe-shaped event, mostly valid, with each field now and then malformed."""
    low, high = CREATED_RANGE
    event = {
        "id": draw(mostly(st.uuids().map(lambda u: f"evt_{u.hex}"), evil_text | st.integers())),
        "object": draw(mostly(st.just("event"), evil_text)),
        "type": draw(mostly(st.sampled_from(["charge.succeeded", "customer.created"]), evil_text)),
        "created": draw(mostly(st.integers(low, high - 1), st.integers() | st.booleans())),
        "livemode": draw(st.booleans()),
        "data": {"object": draw(st.dictionaries(text, values, max_size=5))},
    }
    for _ in range(draw(st.integers(0, 80))):  # nested deeper than Stripe ever does, at times
        event["data"]["object"] = {"child": event["data"]["object"]}
    if not draw(st.integers(0, 9)):  # a data that is no object at all
        event["data"] = draw(values)
    if not draw(st.integers(0, 9)):
        event.pop(draw(st.sampled_from(sorted(event))))
    return event


HOW = ["signed", "signed", "signed", "unsigned", "forged", "future", "stale"]


def header(body: str, how: str) -> dict[str, str]:
    """The delivery's headers: signed well, unsigned, forged, from the future or stale."""
    now = int(time.time())
    signatures = {
        "signed": sign(body, SECRET, now),
        "forged": sign(body, "whsec_attacker", now),
        "future": sign(body, SECRET, now + 86_400),
        "stale": sign(body, SECRET, now - 3600),
    }
    headers = {"Content-Type": "application/json"}
    if how in signatures:
        headers["Stripe-Signature"] = signatures[how]
    return headers


def test_generated_deliveries_get_200_or_4xx_and_the_inbox_holds_exactly_the_accepted(
    migrated: Engine, webhook_url: str
) -> None:
    accepted: dict[str, Any] = {}
    answers: set[int] = set()

    with httpx.Client(timeout=10) as client:

        @settings(
            max_examples=80,
            deadline=None,
            derandomize=True,  # the same deliveries every run: a failure is reproducible
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(
            event=events(),
            how=st.sampled_from(HOW),
        )
        def deliver(event: dict[str, Any], how: str) -> None:
            body = json.dumps(event)
            response = client.post(webhook_url, content=body, headers=header(body, how))
            answers.add(response.status_code)
            assert response.status_code == 200 or 400 <= response.status_code < 500, (
                response.status_code,
                response.text,
            )
            if response.status_code == 200:
                assert how == "signed"
                accepted.setdefault(event["id"], json.loads(body))

        deliver()

    with session_scope(migrated, readonly=True) as session:
        rows = session.execute(select(StripeEvent.id, StripeEvent.payload))
        stored = {event_id: payload for event_id, payload in rows}
    assert as_numbers(stored) == as_numbers(accepted)
    assert 200 in answers and 400 in answers  # the generator reaches both sides of the door
