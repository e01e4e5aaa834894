"""Take the README's screenshots of the dashboard: `.venv/bin/python scripts/take_screenshots.py`.

Builds a throwaway SQLite database, writes 90 days of the demo business into it (seed 7),
serves Governor's app on a free loopback port, signs in with Debian's Chromium (Playwright
drives it; it downloads no browser) and saves PNGs into docs/screenshots/:

    overview.png        the overview at 1280 px          revenue.png   revenue by offer and idea
    costs.png           AI cost by task type and model   ledger.png    a gross revenue figure's rows
    task.png            a fulfill_order task's spans     gate-closed.png  the overview, gate paused
    audit.png           an FSAR report and its checks
    overview-phone.png  the overview at 390 px

Nothing outside the temporary folder and the output folder is touched.
"""

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import FloatRect, Page, ViewportSize, expect, sync_playwright

from governor.audits.service import run_audit
from governor.auth.service import create_user
from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.demo.business.history import populate
from governor.models import ExecutionTask, TaskSpan
from governor.storage.db import dispose_engines, get_engine, session_scope
from governor.storage.migrate import migrate
from governor.tasks import gate
from governor.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "ada", secrets.token_urlsafe(16)
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)
GATE_REASON = "Refunds on Invoice Parser Pro tripled overnight: agents stopped while we look."
TIMEOUT_MS = 30_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found on PATH: run scripts/install-services", file=sys.stderr)
        return 1
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="governor-screenshots-") as folder:
        configure(Path(folder))
        try:
            url = prepare(days=args.days, seed=args.seed)
            with BackgroundServer(create_app(get_settings())) as server:
                shoot_all(chromium, server.url, out, url)
        finally:
            dispose_engines()
    for path in sorted(out.glob("*.png")):
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{path.stat().st_size // 1024} KB")  # fmt: skip
    return 0


def configure(folder: Path) -> None:
    """Settings of the throwaway database only (no GOVERNOR_* of the shell, no .env)."""
    for name in [n for n in os.environ if n.startswith("GOVERNOR_")]:
        del os.environ[name]
    os.chdir(folder)
    os.environ["GOVERNOR_DATABASE_URL"] = f"sqlite:///{folder / 'governor.db'}"
    os.environ["GOVERNOR_BACKUP_DIR"] = str(folder / "backups")
    os.environ["GOVERNOR_SECRET_KEY"] = secrets.token_urlsafe(48)
    get_settings.cache_clear()


def prepare(*, days: int, seed: int) -> str:
    """Migrate, write the demo and a user; the path of the task to show."""
    settings = get_settings()
    engine = get_engine(settings.database_url)
    began = time.perf_counter()
    migrate(engine, "upgrade", "head", backup=False)
    summary = populate(engine, settings, seed=seed, days=days)
    orders, tasks = sum(summary.orders.values()), sum(summary.tasks.values())
    print(f"demo: {days} days, {orders} orders, {tasks} tasks in "
          f"{time.perf_counter() - began:.1f} s")  # fmt: skip
    with session_scope(engine) as session:
        create_user(session, name=USER, password=PASSWORD)
        spans = sa.func.count(TaskSpan.span_id)
        task_id = session.scalars(
            sa.select(ExecutionTask.id)
            .join(TaskSpan, TaskSpan.task_id == ExecutionTask.id)
            .where(ExecutionTask.type == "fulfill_order", ExecutionTask.status == "succeeded")
            .group_by(ExecutionTask.id, ExecutionTask.finished_at)
            .order_by(spans.desc(), ExecutionTask.finished_at.desc())
            .limit(1)
        ).one()
    return f"/tasks/{task_id}"


def settle(page: Page) -> None:
    """Wait until the charts are drawn and the live updates connected; park the mouse."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-chart]')].every(e => e.querySelector('.main-svg'))"
    )
    expect(page.locator("#live-dot.on")).to_have_count(1)
    page.mouse.move(2, 2)


def save(page: Page, path: Path, *, max_height: int | None = None) -> None:
    """The whole page, or its top `max_height` CSS pixels when it is longer."""
    settle(page)
    if max_height is None:
        page.screenshot(path=str(path), type="png", full_page=True)
        return
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    clip = FloatRect(x=0, y=0, width=width, height=min(height, max_height))
    page.screenshot(path=str(path), type="png", full_page=True, clip=clip)


def shoot_all(chromium: str, base: str, out: Path, task_path: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            context = browser.new_context(base_url=base, viewport=DESKTOP)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto("/login")
            page.locator("input[name=name]").fill(USER)
            page.locator("input[name=password]").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")

            save(page, out / "overview.png")
            page.locator('[data-kpi="gross_revenue_usd"]').click()
            page.wait_for_url("**/ledger?**")
            save(page, out / "ledger.png", max_height=1500)
            page.goto("/revenue")
            save(page, out / "revenue.png")
            page.goto("/costs")
            save(page, out / "costs.png")
            page.goto(task_path)
            page.locator("#waterfall details.k-llm summary").first.click()  # one span opened
            save(page, out / "task.png")

            with session_scope() as session:
                gate.pause(session, reason=GATE_REASON, actor=USER)
            page.goto("/")
            expect(page.locator("#gate-banner .gate-banner")).to_be_visible()
            settle(page)
            page.screenshot(path=str(out / "gate-closed.png"), type="png")
            with session_scope() as session:
                gate.resume(session, actor=USER)
            audit = run_audit(get_engine(), get_settings())
            page.goto(f"/audits/{audit.report.id}")
            page.wait_for_load_state("load")
            save(page, out / "audit.png", max_height=1800)
            page.close()

            phone = browser.new_context(base_url=base, viewport=PHONE, device_scale_factor=2,
                                        is_mobile=True, has_touch=True,
                                        storage_state=context.storage_state())  # fmt: skip
            phone.set_default_timeout(TIMEOUT_MS)
            page = phone.new_page()
            page.goto("/")
            save(page, out / "overview-phone.png", max_height=1700)
            phone.close()
            context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
