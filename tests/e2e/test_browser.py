"""The dashboard in a real browser: sign in, see the demo business's KPIs, click a revenue
figure through to its Stripe ids, a task type through to a task's spans, and watch the gate
banner appear when the gate is paused; the phone layout; sign-out with its CSRF token.

One server (Governor's app in a thread, in front of a week of the demo business) and one
Chromium serve every test of the module. They run on SQLite only: the pages' queries are
tested on both databases in tests/web/pages/, and one kind is enough for the browser.
"""

import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy.engine import Engine

from governor.analytics import service as analytics
from governor.analytics.period import parse_period
from governor.auth.service import create_user
from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.demo.business.history import populate
from governor.revenue.currency import format_minor
from governor.storage.db import dispose_engines, get_engine, session_scope
from governor.tasks import gate
from governor.web.app import create_app
from tests.conftest import missing_service
from tests.e2e.browser import DESKTOP, PHONE, cells, chromium_path, column, launch, sign_in

pytestmark = pytest.mark.slow

USER = "ada"
PASSWORD = "correct horse battery staple"
DAYS = 7
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class Site:
    """The served dashboard: its URL, its database and the environment its settings come from."""

    url: str
    engine: Engine
    env: dict[str, str]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        missing_service("chromium not found on PATH: run scripts/install-services")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def site(
    chromium: str, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A week of the demo business, a user, and the app served on a free loopback port."""
    folder = tmp_path_factory.mktemp("browser")
    env = {
        "GOVERNOR_DATABASE_URL": f"sqlite:///{folder / 'governor.db'}",
        "GOVERNOR_BACKUP_DIR": str(folder / "backups"),
        "GOVERNOR_SECRET_KEY": secrets.token_urlsafe(48),
    }
    patch = pytest.MonkeyPatch()
    try:
        for name in list(os.environ):
            if name.startswith("GOVERNOR_") and name != "GOVERNOR_TEST_REQUIRE_SERVICES":
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(folder)
        get_settings.cache_clear()
        with (
            closing(sqlite3.connect(sqlite_template)) as source,  # the migrated schema
            closing(sqlite3.connect(folder / "governor.db")) as copy,
        ):
            source.backup(copy)
        settings = get_settings()
        engine = get_engine(settings.database_url)
        populate(engine, settings, seed=7, days=DAYS)
        with session_scope(engine) as session:
            create_user(session, name=USER, password=PASSWORD)
        with BackgroundServer(create_app(settings)) as server:
            yield Site(server.url, engine, env)
    finally:
        dispose_engines()
        patch.undo()
        get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _isolated(_isolated: None, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest's per-test isolation, then the served database's settings again: the server
    thread reads the settings of this process (pages open sessions on the configured URL)."""
    for name, value in site.env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright, chromium)
        yield browser
        browser.close()


def new_page(browser: Browser, site: Site, **options: Any) -> Page:
    """A tab in a context of its own (no cookies, no cache) at desktop width by default."""
    context = browser.new_context(base_url=site.url, **{"viewport": DESKTOP, **options})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """One context signed in through the form."""
    page = new_page(browser, site)
    page.goto("/login?next=/tasks")
    sign_in(page, USER, PASSWORD)
    page.wait_for_url(f"{site.url}/tasks")
    page.close()
    yield page.context
    page.context.close()


@pytest.fixture(scope="module")
def tab(signed_in: BrowserContext) -> Iterator[Page]:
    """One signed-in tab that the tests take turns in, each from a page of its own choosing: a
    new tab would compile the charts' script afresh, which takes seconds on a slow machine."""
    page = signed_in.new_page()
    yield page
    page.close()


@pytest.fixture
def page(tab: Page) -> Page:
    """The shared signed-in tab, at desktop width."""
    tab.set_viewport_size(DESKTOP)
    return tab


def figure(text: str) -> str:
    """A formatted amount as format_minor writes it: "$1,234.50" → "1234.50"."""
    return re.sub(r"[^0-9.\-]", "", text)


def test_sign_in_shows_the_kpis_of_the_demo_business(browser: Browser, site: Site) -> None:
    page = new_page(browser, site)
    try:
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
        sign_in(page, USER, "not the password")
        expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
        sign_in(page, USER, PASSWORD)
        page.wait_for_url(f"{site.url}/")
        expect(page.locator("h1")).to_have_text("Overview")
        expect(page.locator(".kpis.headline .kpi").first).to_be_visible()

        with session_scope(site.engine, readonly=True) as session:
            ov = analytics.overview(session, parse_period(), get_settings())
        usd = next(m for m in ov.money if m.currency == "usd")
        assert usd.gross_revenue > 0, "the demo sold nothing in the default period"
        for money in ov.money:
            card = page.locator(f'[data-kpi="gross_revenue_{money.currency}"] .kpi-value')
            expect(card).to_be_visible()
            shown = figure(card.inner_text())
            assert shown == format_minor(money.gross_revenue, money.currency), money.currency
    finally:
        page.context.close()


def test_a_revenue_figure_leads_to_its_stripe_ids(page: Page) -> None:
    page.goto("/")
    page.locator('[data-kpi="gross_revenue_usd"]').click()
    page.wait_for_url(re.compile(r"/ledger\?.*kinds=charge"))
    expect(page.locator("h1")).to_have_text("Charges · USD")
    table = page.locator("#table-ledger table.data")
    expect(table.locator("tbody tr").first).to_be_visible()
    stripe_ids = cells(table, "Stripe id").all_inner_texts()
    assert stripe_ids
    assert all(i.strip().startswith("ch_") for i in stripe_ids), stripe_ids

    row = table.locator("tbody tr").filter(has=page.locator("a[href^='/orders/']")).first
    charge = row.locator(f"td:nth-child({column(table, 'Stripe id')})").inner_text().strip()
    row.locator("a[href^='/orders/']").click()
    page.wait_for_url(re.compile(r"/orders/\w+$"))
    field = page.locator(".field").filter(has=page.locator("dt", has_text="Stripe charge"))
    expect(field.locator("dd")).to_have_text(charge)
    expect(page.locator("#table-ledger")).to_contain_text(charge)


def test_a_task_type_leads_to_a_tasks_spans(page: Page) -> None:
    page.goto("/costs")
    types = page.locator("#table-types table.data")
    cells(types, "Task type").get_by_role("link", name="fulfill_order", exact=True).click()
    page.wait_for_url(re.compile(r"/costs/fulfill_order\?"))
    expect(page.locator("h1")).to_have_text("fulfill_order")

    models = page.locator("#table-models table.data")
    model_link = cells(models, "Model").locator("a").first
    model = model_link.inner_text().strip()
    model_link.click()
    page.wait_for_url(re.compile(r"/tasks\?.*type=fulfill_order"))

    tasks = page.locator("#table-tasks table.data")
    cells(tasks, "Task").locator("a").first.click()
    page.wait_for_url(re.compile(r"/tasks/task_\w+$"))
    expect(page.locator("h1")).to_contain_text("fulfill_order")
    model_field = page.locator(".grid-2 .field").filter(has=page.locator("dt", has_text="Model"))
    expect(model_field.locator("dd")).to_have_text(model)
    waterfall = page.locator("#waterfall")
    expect(waterfall.locator(".wf-row.k-llm .wf-bar").first).to_be_visible()
    assert waterfall.locator(".wf-bar").count() >= 2


def test_the_gate_banner_shows_while_the_gate_is_paused(page: Page, site: Site) -> None:
    reason = "Audit found a ledger mismatch (browser test)"
    banner = page.locator("#gate-banner .gate-banner")
    page.goto("/revenue")
    expect(page.locator("h1")).to_be_visible()
    expect(banner).to_have_count(0)
    try:
        with session_scope(site.engine) as session:
            gate.pause(session, reason=reason, actor="pytest")
        page.reload()
        expect(banner).to_be_visible()
        expect(banner.locator(".gate-reason")).to_have_text(reason)
        expect(banner).to_contain_text("by pytest")
        red, green, blue = map(int, re.findall(r"\d+", banner.evaluate(
            "element => getComputedStyle(element).backgroundColor"))[:3])  # fmt: skip
        assert red > 150 and red > 2 * green and red > 2 * blue, (red, green, blue)
    finally:
        with session_scope(site.engine) as session:
            gate.resume(session, actor="pytest")
    page.reload()
    expect(page.locator("h1")).to_be_visible()
    expect(banner).to_have_count(0)


def test_the_overview_fits_a_phone(page: Page) -> None:
    # A desktop tab narrowed to a phone's width: phone emulation would widen the layout
    # viewport to fit content that overflows, hiding the very overflow looked for here.
    page.set_viewport_size(PHONE)
    page.goto("/")
    expect(page.locator(".chart .main-svg").first).to_be_visible()  # plotly has drawn
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == PHONE["width"]
    assert width <= inner, f"the page is {width} px wide in a {inner} px viewport"

    nav, toggle = page.locator("#nav"), page.locator(".nav-toggle")
    expect(nav).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="Costs").click()
    page.wait_for_url(re.compile(r"/costs$"))
    expect(page.locator("h1")).to_have_text("Costs")


def test_sign_out_needs_the_csrf_token(browser: Browser, site: Site) -> None:
    page = new_page(browser, site)  # a session of its own: signing out ends every copy of it
    try:
        page.goto("/login?next=/tasks")
        sign_in(page, USER, PASSWORD)
        page.wait_for_url(f"{site.url}/tasks")
        refused = page.request.post("/logout", form={"csrf_token": "forged"}, max_redirects=0)
        assert refused.status == 403
        page.reload()
        expect(page).to_have_url(f"{site.url}/tasks")  # still signed in

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{site.url}/login")
        page.goto("/tasks")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Ftasks$"))
        expect(page.locator("#login-form")).to_be_visible()
    finally:
        page.context.close()


def test_the_pages_run_under_their_content_security_policy(page: Page) -> None:
    refused: list[str] = []

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", note)
    try:
        for path in ("/", "/revenue", "/costs", "/ledger", "/tasks", "/alerts", "/audits"):
            response = page.goto(path)
            assert response is not None
            assert "script-src 'self';" in response.headers["content-security-policy"]
            expect(page.locator("h1")).to_be_visible()
        page.goto("/tasks?type=fulfill_order")
        cells(page.locator("#table-tasks table.data"), "Task").locator("a").first.click()
        expect(page.locator("#waterfall .wf-bar").first).to_be_visible()
    finally:
        page.remove_listener("console", note)
    assert refused == []
