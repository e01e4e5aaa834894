"""The fulfilment queue, the feedback list and an offer's timeline in real Chromium: a click on
a state's card filters the queue, a provider's link shows its steps, the offer page shows its
friction and its moves with who made them; at a phone's width nothing is wider than the phone.
SQLite only: the queries are tested on both databases in tests/offers and tests/web/pages."""

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
from tests.offers.queue_world import World, a_world

pytestmark = pytest.mark.slow
TIMEOUT_MS = 15_000
USER, PASSWORD = "ada", "correct horse battery staple"


@pytest.fixture
def served(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, World]]:
    """The queue's world in a migrated SQLite database, a user, and the app on loopback."""
    monkeypatch.setenv("GOVERNOR_OUTBOUND_BREAKER_RESET_SECONDS", "3600")
    engine = sqlite_copy(sqlite_template, tmp_path, monkeypatch)
    world = a_world(engine, utcnow())
    with session_scope(engine) as session:
        create_user(session, name=USER, password=PASSWORD)
    try:
        with BackgroundServer(create_app(get_settings())) as server:
            yield server.url, world
    finally:
        dispose_engines()


def _fits(page: Page) -> None:
    width, inner = page_width(page)
    assert inner == PHONE["width"]
    assert width <= inner, f"{page.url} is {width} px wide in a {inner} px viewport"


def test_the_queue_and_the_offer_timeline_in_a_browser_and_on_a_phone(served):
    chromium = required_chromium()
    url, world = served
    with sync_playwright() as playwright:
        browser = launch(playwright, str(chromium))
        try:
            context = browser.new_context(base_url=url, viewport=DESKTOP)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
            page.goto("/login?next=/fulfilment")
            sign_in(page, USER, PASSWORD)
            page.wait_for_url(f"{url}/fulfilment")
            queue = page.locator("table[data-table=queue]")
            expect(queue.locator("tbody tr")).to_have_count(5)
            expect(queue.locator("tr.late")).to_have_count(1)  # the order over its SLA

            page.locator("[data-kpi=failing]").click()
            page.wait_for_url(re.compile(r"state=failing"))
            expect(queue.locator("tbody tr")).to_have_count(2)
            assert cells(queue, "State").all_text_contents() == ["failing", "failing"]
            providers = page.locator("table[data-table=providers]")
            breaker = providers.locator("tbody tr", has_text="licences.example").locator("td").last
            expect(breaker).to_have_text("open")

            page.select_option("select[name=state]", "")
            page.select_option("select[name=provider]", "ship.example")
            page.get_by_role("button", name="Apply").click()
            page.wait_for_url(re.compile(r"provider=ship.example"))
            expect(queue.locator("tbody tr")).to_have_count(1)
            expect(queue.locator("tbody tr td", has_text="postal address")).to_be_visible()

            queue.get_by_role("link", name="Resume rewrite").click()
            page.wait_for_url(re.compile(rf"/offers/{world.resume}$"))
            moves = page.locator(".timeline-item")
            expect(moves).to_have_count(4)
            expect(moves.nth(2)).to_contain_text("Shipping provider down")
            expect(moves.nth(2).locator(".timeline-who")).to_have_text("by user:ada")
            expect(moves.nth(1).locator(".timeline-who a")).to_have_attribute(
                "href", re.compile(r"^/tasks/task_"))  # fmt: skip
            expect(page.locator("#friction [data-kpi=over_sla] .kpi-value")).to_have_text("1")

            # A desktop tab narrowed to a phone (emulation would widen the layout viewport).
            page.set_viewport_size(PHONE)
            for path in ("/fulfilment", f"/offers/{world.resume}", "/feedback",
                         "/fulfilment?state=failing"):  # fmt: skip
                page.goto(path)
                expect(page.locator("h1")).to_be_visible()
                _fits(page)
            page.goto(f"/offers/{world.resume}")
            why = page.locator(".timeline-why", has_text="Shipping provider down")
            box = why.bounding_box()
            assert box is not None and box["x"] + box["width"] <= PHONE["width"]
            assert refused == []  # no CSP refusal, no failed load
        finally:
            browser.close()
