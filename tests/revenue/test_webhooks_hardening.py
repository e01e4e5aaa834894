"""The webhook door under attack and fault: poisoned events, huge bodies, future signatures,
a read-only database. Each bad delivery gets its own clear answer; every good one is stored."""

import json
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.demo.stripe_server import sign
from governor.models import StripeEvent
from governor.storage.db import session_scope
from governor.web.app import create_app
from tests.revenue.burst import burst
from tests.revenue.conftest import SECRET
from tests.support.read_only_db import make_read_only


def an_event(n: int, **fields: Any) -> dict[str, Any]:
    """A Stripe-shaped customer.created event (no money: handling it writes nothing) with the
    id `evt_burst_<n>`."""
    return {
        "id": f"evt_burst_{n}", "object": "event", "type": "customer.created",
        "created": 1_767_225_600 + n, "livemode": False,
        "data": {"object": {"id": f"cus_{n}", "object": "customer", "email": f"c{n}@example.com"}},
    } | fields  # fmt: skip


def deep(event: dict[str, Any], depth: int) -> str:
    """The event's body with its data.object `depth` levels deep (too deep for json.dumps)."""
    body = json.dumps(event | {"data": {"object": "DEEP"}})
    return body.replace('"DEEP"', '{"x": ' * depth + "{}" + "}" * depth)


def poisoned(n: int) -> str:
    """The body of one of the events that used to fail every delivery committed beside it."""
    kind = n % 3
    if kind == 0:
        return json.dumps(an_event(n, created=10**30))
    if kind == 1:
        return json.dumps(an_event(n, created=-(10**12)))
    return deep(an_event(n), 1000)


def signed(body: str, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """Headers of a delivery signed like Stripe's."""
    return {"Content-Type": "application/json", "Stripe-Signature": sign(body, secret, at)}


def stored_ids(engine: Engine) -> set[str]:
    with session_scope(engine, readonly=True) as session:
        return set(session.scalars(select(StripeEvent.id)))


def test_a_burst_with_poisoned_events_stores_every_good_one_and_refuses_only_the_bad(
    migrated: Engine, webhook_url: str
) -> None:
    bad = set(range(5, 2000, 200))  # 10 poisoned events spread through the burst
    bodies = [poisoned(n) if n in bad else json.dumps(an_event(n)) for n in range(2000)]
    statuses = burst(webhook_url, bodies)
    assert Counter(statuses) == Counter({200: 1990, 400: 10})
    assert {statuses[n] for n in bad} == {400}
    assert stored_ids(migrated) == {f"evt_burst_{n}" for n in range(2000) if n not in bad}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (an_event(1, created=10**30), "created"),
        (an_event(1, created=-(10**12)), "created"),
        (an_event(1, created=True), "created"),
        (deep(an_event(1), 1000), "deep"),
        (deep(an_event(1), 70), "deep"),
        (an_event(1, id=""), "id"),
        (an_event(1, id="evt_" + "x" * 300), "id"),
        (an_event(1, type="x" * 101), "type"),
        (an_event(1, data="x"), "data.object"),
        (an_event(1, data={"object": [1]}), "data.object"),
        (an_event(1, data={"object": {"note": "a\u0000b"}}), "NUL"),
        (an_event(1, data={"object": {"note": "\ud800"}}), "surrogate"),
        (an_event(1, data={"object": {"amount": float("nan")}}), "NaN"),
    ],
)
def test_a_signed_event_the_inbox_cannot_hold_gets_400_with_its_reason(
    migrated: Engine, webhook_url: str, body: Any, reason: str
) -> None:
    body = body if isinstance(body, str) else json.dumps(body)
    response = httpx.post(webhook_url, content=body, headers=signed(body))
    assert response.status_code == 400
    assert reason in response.json()["error"]
    good = json.dumps(an_event(2))
    assert httpx.post(webhook_url, content=good, headers=signed(good)).status_code == 200
    assert stored_ids(migrated) == {"evt_burst_2"}


def _huge(size: int) -> bytes:
    """A JSON event body of about `size` bytes (a long metadata string)."""
    return json.dumps(an_event(1, data={"object": {"id": "cus_1", "pad": "x" * size}})).encode()


def test_a_body_over_the_cap_gets_413_while_streaming_and_stores_nothing(
    migrated: Engine, webhook_url: str
) -> None:
    big = _huge(2 * 1024 * 1024)
    unsigned = httpx.post(webhook_url, content=big, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 413
    assert "GOVERNOR_WEBHOOK_MAX_BYTES" in unsigned.json()["hint"]
    text = big.decode()
    assert httpx.post(webhook_url, content=big, headers=signed(text)).status_code == 413

    def chunks() -> Any:  # no Content-Length: the cap holds while the body streams in
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = httpx.post(webhook_url, content=chunks(), headers=signed(text))
    assert streamed.status_code == 413
    assert stored_ids(migrated) == set()


def test_the_body_cap_is_a_setting(migrated: Engine, stand_in: Any, configure: Any) -> None:
    configure(webhook_max_bytes=4096)
    with BackgroundServer(create_app(get_settings())) as server:
        url = f"{server.url}/webhooks/stripe"
        small, large = _huge(1000).decode(), _huge(5000).decode()
        assert httpx.post(url, content=small, headers=signed(small)).status_code == 200
        assert httpx.post(url, content=large, headers=signed(large)).status_code == 413
    assert stored_ids(migrated) == {"evt_burst_1"}


def test_a_signature_dated_far_in_the_future_is_refused(migrated: Engine, webhook_url: str) -> None:
    body = json.dumps(an_event(1))
    now = int(time.time())
    for when in (now + 3600, now + 10**9):
        headers = signed(body, at=when)
        response = httpx.post(webhook_url, content=body, headers=headers)
        assert response.status_code == 400
        assert "future" in response.json()["error"]
        headers["Stripe-Signature"] += f",t={now}"  # Stripe's check reads the first t=
        assert httpx.post(webhook_url, content=body, headers=headers).status_code == 400
    skewed = httpx.post(webhook_url, content=body, headers=signed(body, at=now + 30))
    assert skewed.status_code == 200  # a clock a little ahead is fine
    assert stored_ids(migrated) == {"evt_burst_1"}


def test_a_read_only_database_answers_503_with_the_reason_so_stripe_retries(
    migrated: Engine, webhook_url: str
) -> None:
    make_read_only(migrated)
    bodies = [json.dumps(an_event(n)) for n in range(20)]
    statuses = burst(webhook_url, bodies, connections=8)
    assert statuses == [503] * 20
    body = bodies[0]
    response = httpx.post(webhook_url, content=body, headers=signed(body))
    assert response.status_code == 503
    assert response.json()["error"] == "DatabaseUnwritable"
    assert "not writable" in response.json()["message"] or "refuses" in response.json()["message"]
    assert response.headers["retry-after"]
    with session_scope(migrated, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(StripeEvent)) == 0
