"""A customer opens a feedback link on a phone in real Chromium, picks a rating, sends it, and
sees the thanks page; nothing on either page is wider than the phone. SQLite only: the page's
storage is tested on both databases in tests/web/test_feedback.py."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect, sync_playwright

from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.models import Feedback
from governor.offers import feedback
from governor.storage.db import dispose_engines, session_scope
from governor.web.app import create_app
from tests.e2e.browser import (
    PHONE,
    launch,
    page_width,
    required_chromium,
    sqlite_copy,
)
from tests.offers.test_feedback import fulfilled_order, token_of

pytestmark = pytest.mark.slow
TIMEOUT_MS = 15_000


def _widest(page: Page) -> int:
    """How far the page's content reaches to the right, in CSS pixels."""
    return page_width(page)[0]


@pytest.fixture
def served(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A fulfilled order in a migrated SQLite database, and the app on a loopback port."""
    engine = sqlite_copy(sqlite_template, tmp_path, monkeypatch)
    ids = fulfilled_order(engine)
    with session_scope(engine, readonly=True) as session:
        link = feedback.feedback_link(session, get_settings(), ids["order"])
    try:
        with BackgroundServer(create_app(get_settings())) as server:
            yield server.url + "/f/" + token_of(link), engine
    finally:
        dispose_engines()


def test_a_customer_rates_an_order_on_a_phone(served):
    chromium = required_chromium()
    url, engine = served
    assert os.environ["GOVERNOR_DATABASE_URL"].startswith("sqlite")
    with sync_playwright() as playwright:
        browser = launch(playwright, str(chromium))
        try:
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
            page.goto(url)
            expect(page.locator("h1")).to_have_text("Resume rewrite")
            assert _widest(page) <= PHONE["width"]
            assert page.locator("nav, a").count() == 0  # nothing of the operator's app
            page.locator(".rating-choices label", has_text="4").tap()
            expect(page.locator("input[name=rating][value='4']")).to_be_checked()
            page.locator("#feedback-text").fill("Arrived quickly, looks great " * 8)
            page.get_by_role("button", name="Send").tap()
            expect(page.locator("#feedback-thanks h1")).to_have_text("Thank you!")
            assert _widest(page) <= PHONE["width"]
            assert refused == []  # no CSP refusal, no failed load
        finally:
            browser.close()
    with session_scope(engine, readonly=True) as session:
        (row,) = session.scalars(sa.select(Feedback)).all()
        assert (row.rating, row.source) == (4, "link")
