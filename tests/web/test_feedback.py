"""The customer's feedback page /f/{token} and /api/feedback, through the real app."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from governor.auth import service as auth
from governor.auth.secret import signing_key
from governor.config import get_settings
from governor.models import Feedback, Finding
from governor.models.types import utcnow
from governor.offers import feedback
from governor.storage.db import session_scope
from governor.web.app import create_app
from tests.factories import make_order
from tests.offers.test_feedback import fulfilled_order, token_of

HTML = {"accept": "text/html"}


@pytest.fixture
def app(migrated) -> FastAPI:
    return create_app(get_settings())


def link_path(engine, order_id: str) -> str:
    with session_scope(engine, readonly=True) as session:
        return "/f/" + token_of(feedback.feedback_link(session, get_settings(), order_id))


def client(app: FastAPI, ip: str = "203.0.113.7") -> TestClient:
    return TestClient(app, follow_redirects=False, client=(ip, 50000))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def stored(engine) -> list[tuple[int, str | None, str]]:
    with session_scope(engine, readonly=True) as session:
        return [(f.rating, f.text, f.source) for f in session.scalars(sa.select(Feedback))]


def test_the_page_shows_the_offer_only_and_takes_one_answer(app, migrated):
    ids = fulfilled_order(migrated)
    path = link_path(migrated, ids["order"])
    browser = client(app)
    form = browser.get(path, headers=HTML)
    assert form.status_code == 200
    assert "Resume rewrite" in form.text and 'name="rating"' in form.text
    for private in ("Ada Adler", "ada@example.com", "49.00", "AI resume rewriter", ids["order"],
                    ids["customer"], "<nav", 'href="/"', "app.js"):  # fmt: skip
        assert private not in form.text, private
    sent = browser.post(path, data={"rating": "4", "text": "Quick and neat",
                                    "csrf_token": csrf_of(form.text)})  # fmt: skip
    assert sent.status_code == 200 and "Thank you!" in sent.text
    assert "was sent" in sent.text
    assert stored(migrated) == [(4, "Quick and neat", "link")]

    again = browser.get(path, headers=HTML)
    assert "You already answered" in again.text
    replaced = browser.post(path, data={"rating": "2", "text": "",
                                        "csrf_token": csrf_of(again.text)})  # fmt: skip
    assert replaced.status_code == 200 and "replaced the one you sent before" in replaced.text
    assert stored(migrated) == [(2, None, "link")]
    with session_scope(migrated, readonly=True) as session:  # a low rating: a finding
        (finding,) = session.scalars(sa.select(Finding)).all()
        assert finding.kind == "feedback" and "rated 2/5" in finding.explanation

    no_rating = browser.post(path, data={"rating": "9", "csrf_token": csrf_of(again.text)})
    assert no_rating.status_code in (400, 403)  # the first answer used up its form's value
    fresh = browser.get(path, headers=HTML)
    unpicked = browser.post(path, data={"rating": "", "csrf_token": csrf_of(fresh.text)})
    assert unpicked.status_code == 400 and "pick a rating" in unpicked.text


def test_a_post_without_the_forms_csrf_value_is_refused(app, migrated):
    ids = fulfilled_order(migrated)
    path = link_path(migrated, ids["order"])
    browser = client(app)
    value = csrf_of(browser.get(path, headers=HTML).text)
    missing = browser.post(path, data={"rating": "5"})
    assert missing.status_code == 403 and "expired or was opened elsewhere" in missing.text
    wrong = browser.post(path, data={"rating": "5", "csrf_token": "guessed"})
    assert wrong.status_code == 403
    # The value of a page opened in this browser, posted by another one (no cookie):
    stranger = client(app, ip="203.0.113.8").post(path, data={"rating": "5", "csrf_token": value})
    assert stranger.status_code == 403
    # Another site's page posting the form in the visitor's browser:
    elsewhere = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}
    cross = browser.post(path, data={"rating": "5", "csrf_token": value}, headers=elsewhere)
    assert cross.status_code == 403
    assert stored(migrated) == []
    # Each refused form comes back with a fresh value (and cookie); the newest is accepted:
    stale = browser.post(path, data={"rating": "5", "csrf_token": value})
    assert stale.status_code == 403
    renewed = csrf_of(stale.text)
    assert browser.post(path, data={"rating": "5", "csrf_token": renewed}).status_code == 200


def test_expired_forged_and_unknown_links_get_a_clear_page(app, migrated):
    ids = fulfilled_order(migrated)
    key = signing_key(get_settings())
    path = link_path(migrated, ids["order"])
    expired = "/f/" + feedback.make_token(key, ids["order"], expires_at=utcnow() - timedelta(1))
    unknown = "/f/" + feedback.make_token(key, "order_gone", expires_at=utcnow() + timedelta(1))
    unfulfilled = make_order(migrated)["order"]
    not_yet = "/f/" + feedback.make_token(key, unfulfilled, expires_at=utcnow() + timedelta(1))
    cases = [(path[:-4] + "AAAA", 404, "not valid"), (path + "x", 404, "not valid"),
             ("/f/garbage", 404, "not valid"), (expired, 410, "expired on"),
             (unknown, 404, "No order"), (not_yet, 400, "not fulfilled yet")]  # fmt: skip
    for number, (target, status, message) in enumerate(cases):
        browser = client(app, ip=f"192.0.2.{number}")  # not the limit per address
        for answer in (browser.get(target, headers=HTML),
                       browser.post(target, data={"rating": "5", "csrf_token": "x"})):  # fmt: skip
            assert answer.status_code == status, (target, answer.text)
            assert answer.headers["content-type"].startswith("text/html")
            assert message in answer.text and "Traceback" not in answer.text
            assert 'name="rating"' not in answer.text
    assert stored(migrated) == []


def test_posts_are_limited_per_address_and_per_link(app, migrated):
    first, second = fulfilled_order(migrated), fulfilled_order(migrated)
    one, other = link_path(migrated, first["order"]), link_path(migrated, second["order"])
    browser = client(app)
    for _ in range(5):
        value = csrf_of(browser.get(one, headers=HTML).text)
        assert browser.post(one, data={"rating": "5", "csrf_token": value}).status_code == 200
    limited = browser.post(one, data={"rating": "5", "csrf_token": value})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "Too many answers" in limited.text
    # The same address on another link, and another address on the same link:
    assert browser.post(other, data={"rating": "5"}).status_code == 429
    elsewhere = client(app, ip="198.51.100.9")
    value = csrf_of(elsewhere.get(one, headers=HTML).text)
    assert elsewhere.post(one, data={"rating": "1", "csrf_token": value}).status_code == 429
    assert stored(migrated) == [(5, None, "link")]  # the limited posts changed nothing
    value = csrf_of(elsewhere.get(other, headers=HTML).text)
    assert elsewhere.post(other, data={"rating": "3", "csrf_token": value}).status_code == 200


def test_feedback_is_imported_over_the_api_all_or_nothing_and_listed(app, migrated):
    ids, more = fulfilled_order(migrated), fulfilled_order(migrated)
    unfulfilled = make_order(migrated)["order"]
    with session_scope(migrated) as session:
        _, token = auth.create_token(session, name="importer")
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert TestClient(app).post("/api/feedback", json={"items": []}).status_code == 401

    good = {"order_id": ids["order"], "rating": 5, "text": "Great",
            "created_at": "2026-11-02T10:00:00Z"}  # fmt: skip
    for bad in ({**good, "rating": 0}, {**good, "rating": 6}, {**good, "text": "y" * 2001},
                {**good, "created_at": "2026-11-02T10:00:00"}, {**good, "extra": 1},
                {**good, "text": "a\x00b"}, {**good, "order_id": "order\x00"}):  # fmt: skip
        refused = api.post("/api/feedback", json={"items": [good, bad]})
        assert refused.status_code == 400, (bad, refused.text)
    for order_id, message in ((unfulfilled, "not fulfilled yet"), ("order_nope", "No order")):
        refused = api.post("/api/feedback", json={"items": [good, {**good, "order_id": order_id}]})
        assert refused.status_code == 400 and "items[1]" in refused.json()["message"]
        assert message in refused.json()["message"]
    assert api.post("/api/feedback", json={"items": []}).status_code == 400
    assert stored(migrated) == []  # nothing half-written

    low = {"order_id": more["order"], "rating": 3, "text": "It didn't work, I want a refund"}
    done = api.post("/api/feedback", json={"items": [good, low]})
    assert done.status_code == 200, done.text
    outcomes = {row["order_id"]: (row["outcome"], row["finding_id"]) for row in done.json()}
    assert outcomes[ids["order"]] == ("created", None)
    assert outcomes[more["order"]][0] == "created" and outcomes[more["order"]][1]
    again = api.post("/api/feedback", json={"items": [good, low]}).json()
    assert [row["outcome"] for row in again] == ["unchanged", "unchanged"]  # idempotent
    assert sorted(stored(migrated)) == [(3, low["text"], "api"), (5, "Great", "api")]

    listed = api.get("/api/feedback")
    assert listed.status_code == 200
    assert [row["order_id"] for row in listed.json()] == [more["order"], ids["order"]]
    assert listed.json()[1]["created_at"].startswith("2026-11-02T10:00:00")
    one = api.get("/api/feedback", params={"offer_id": ids["offer"]}).json()
    assert [(row["rating"], row["idea_id"]) for row in one] == [(5, ids["idea"])]
    assert len(api.get("/api/feedback", params={"limit": 1}).json()) == 1
    assert api.get("/api/feedback", params={"limit": 0}).status_code == 400
    assert api.get("/api/feedback", params={"limit": 100_000}).status_code == 400
