"""/funnel in real Chromium: the funnel drawn, a click on a step lists its sessions with their
Stripe ids, and the pages fit a phone. SQLite only: the figures are tested on both databases
in tests/offers/test_friction.py and tests/web/pages/test_funnel_pages.py."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from governor.auth.service import create_user
from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.models.types import utcnow
from governor.storage.db import dispose_engines, session_scope
from governor.web.app import create_app
from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    cells,
    launch,
    page_width,
    required_chromium,
    sign_in,
    sqlite_copy,
)
from tests.offers import funnel_data

pytestmark = pytest.mark.slow
TIMEOUT_MS = 15_000
USER, PASSWORD = "ops", "correct horse battery staple"


@pytest.fixture
def served(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The hand-built funnel in a migrated SQLite database, a user, the app on loopback."""
    engine = sqlite_copy(sqlite_template, tmp_path, monkeypatch)
    ids = funnel_data.build(engine, now=utcnow())
    with session_scope(engine) as session:
        create_user(session, name=USER, password=PASSWORD)
    try:
        with BackgroundServer(create_app(get_settings())) as server:
            yield server.url, ids
    finally:
        dispose_engines()


def _fits(page: Page) -> None:
    width, inner = page_width(page)
    assert width <= inner, f"the page is {width} px wide in a {inner} px viewport"


def test_a_step_of_the_funnel_lists_its_sessions_and_the_pages_fit_a_phone(served) -> None:
    chromium = required_chromium()
    url, ids = served
    with sync_playwright() as playwright:
        browser = launch(playwright, str(chromium))
        try:
            context = browser.new_context(base_url=url, viewport=DESKTOP)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto("/login?next=/funnel")
            sign_in(page, USER, PASSWORD)
            page.wait_for_url(re.compile(r"/funnel$"))
            card = page.locator(f'.funnel-card[data-offer="{ids["offer"]}"]')
            expect(card.locator('[data-step="paid"] .funnel-count')).to_have_text("5")
            expect(card.locator('[data-step="paid"] .funnel-drop')).to_contain_text("44.4%")

            card.locator('[data-step="paid"] a').click()
            page.wait_for_url(re.compile(rf"/funnel/{ids['offer']}\?step=paid"))
            table = page.locator('table[data-table="steps"]')
            sessions = cells(table, "Checkout session").all_text_contents()
            assert sorted(s.strip() for s in sessions) == [
                "cs_s1", "cs_s2", "cs_s3", "cs_s4", "cs_s8"]  # fmt: skip
            assert "ch_s1" in cells(table, "Charge").all_text_contents()

            # A desktop tab narrowed to a phone: emulation would widen the layout instead.
            page.set_viewport_size(PHONE)
            _fits(page)
            page.get_by_role("link", name="Abandoned at the payment step").click()
            page.wait_for_url(re.compile(r"step=abandoned_at_payment"))
            expect(page.locator('table[data-table="steps"] tbody tr')).to_have_count(1)
            expect(page.locator('table[data-table="steps"]')).to_contain_text("pi_cs_s5")
            _fits(page)
            page.goto("/funnel")
            expect(page.locator(".funnel-card").first).to_be_visible()
            _fits(page)
            page.locator('.funnel-card [data-step="rated"] a').first.click()
            page.wait_for_url(re.compile(r"step=rated"))
            expect(page.locator('table[data-table="steps"] tbody tr')).to_have_count(2)
            _fits(page)
            assert errors == []
        finally:
            browser.close()
