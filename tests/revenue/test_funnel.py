"""Funnel steps Governor records itself: `governor.track` and `POST /api/track`."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

import governor
from governor.auth.service import create_token
from governor.config import get_settings
from governor.errors import BadInput
from governor.models import FunnelEvent
from governor.offers import service as offers
from governor.storage.db import session_scope
from governor.web.app import create_app

AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _offer() -> str:
    with session_scope() as session:
        idea = offers.create_idea(session, title="Cover letters that land")
        return offers.create_offer(session, idea_id=idea.id, title="Cover letter",
                                   price_minor=2900, currency="usd").id  # fmt: skip


def _events(engine: Engine) -> list[tuple[str, str, str | None, str | None, datetime]]:
    with session_scope(engine, readonly=True) as session:
        rows = session.scalars(select(FunnelEvent).order_by(FunnelEvent.at, FunnelEvent.id))
        return [(r.offer_id, r.step, r.checkout_session_id, r.visitor, r.at) for r in rows]


def test_governor_track_records_a_step_once_per_dedupe_key(migrated: Engine) -> None:
    offer = _offer()
    viewed = governor.track(offer, "offer_viewed", visitor="v_81f2", at=AT)
    started = governor.track(offer, "checkout_started", session_id="cs_test_a1", at=AT,
                             dedupe_key="start:cs_test_a1")  # fmt: skip
    again = governor.track(offer, "checkout_started", session_id="cs_test_a1", at=AT,
                           dedupe_key="start:cs_test_a1")  # fmt: skip
    assert viewed.startswith("fev_") and again == started != viewed
    assert _events(migrated) == [(offer, "offer_viewed", None, "v_81f2", AT),
                                 (offer, "checkout_started", "cs_test_a1", None, AT)]  # fmt: skip


@pytest.mark.parametrize(
    ("step", "options", "message"),
    [
        ("paid", {}, "'paid' is not a funnel step"),
        ("offer_viewed", {"offer": "offer_nope"}, "No offer 'offer_nope'"),
        ("checkout_started", {"session_id": "pi_123"}, "not a Stripe Checkout Session id"),
        ("offer_viewed", {"visitor": "ada@example.com"}, "anonymous id"),
        ("offer_viewed", {"visitor": "v\x00"}, "anonymous id"),
        ("offer_viewed", {"dedupe_key": "x" * 201}, "dedupe_key"),
        ("offer_viewed", {"at": datetime(2026, 12, 4, 10, 0)}, "time zone"),
    ],
)
def test_bad_steps_are_refused_clearly_and_write_nothing(
    migrated: Engine, step: str, options: dict[str, object], message: str
) -> None:
    given = dict(options)  # the parameters are shared by both databases' runs
    offer = str(given.pop("offer", None) or _offer())
    with pytest.raises(BadInput, match=message):
        governor.track(offer, step, **given)  # type: ignore[arg-type]
    assert _events(migrated) == []


@pytest.fixture
def api(migrated: Engine) -> TestClient:
    with session_scope() as session:
        _, token = create_token(session, name="shop")
    return TestClient(create_app(get_settings()), headers={"Authorization": f"Bearer {token}"})


def test_post_api_track_with_a_token_records_a_step_once(migrated: Engine, api: TestClient) -> None:
    offer = _offer()
    body = {"offer_id": offer, "step": "checkout_started", "session_id": "cs_test_b2",
            "visitor": "v_1", "at": "2026-12-04T10:00:00Z", "dedupe_key": "b2"}  # fmt: skip
    assert TestClient(api.app).post("/api/track", json=body).status_code == 401
    first, second = api.post("/api/track", json=body), api.post("/api/track", json=body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["recorded"] is True and second.json() == {**first.json(), "recorded": False}
    assert _events(migrated) == [(offer, "checkout_started", "cs_test_b2", "v_1", AT)]
    assert "/api/track" in api.get("/api/openapi.json").json()["paths"]


def test_post_api_track_refuses_bad_bodies_with_a_clear_message(
    migrated: Engine, api: TestClient
) -> None:
    offer = _offer()
    good = {"offer_id": offer, "step": "offer_viewed"}
    for bad, says in (
        ({**good, "step": "bought"}, "not a funnel step"),
        ({**good, "offer_id": "offer_gone"}, "No offer"),
        ({**good, "at": "2026-12-04T10:00:00"}, "time zone"),
        ({**good, "extra": 1}, "extra"),
        ({"step": "offer_viewed"}, "offer_id"),
    ):
        refused = api.post("/api/track", json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert says in refused.json()["message"], refused.json()
    assert _events(migrated) == []
