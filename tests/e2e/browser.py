"""Helpers for the browser tests: Debian's Chromium under Playwright, sign-in, table columns.

Playwright never downloads a browser here: it drives the `chromium` that
scripts/install-services installs from Debian.
"""

import secrets
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, ViewportSize
from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.storage.db import get_engine
from tests.conftest import missing_service

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)


def chromium_path() -> str | None:
    """The system's Chromium, or None when it is not installed."""
    return shutil.which("chromium")


def required_chromium() -> str:
    """The system's Chromium; skipped (or failed, where CI requires it) when it is missing."""
    found = chromium_path()
    if found is None:
        missing_service("chromium not found on PATH: run scripts/install-services")
    assert found is not None
    return found


def sqlite_copy(template: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A copy of the migrated SQLite template in `folder`, configured as Governor's database
    (with a fresh secret key); its engine."""
    path = folder / "governor.db"
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
    monkeypatch.setenv("GOVERNOR_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("GOVERNOR_SECRET_KEY", secrets.token_urlsafe(48))
    get_settings.cache_clear()
    return get_engine()


def page_width(page: Page) -> tuple[int, int]:
    """How far the page's content reaches to the right, and the viewport's width (CSS px)."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(inner)


def launch(playwright: Playwright, executable: str) -> Browser:
    """A headless Chromium from the given executable."""
    return playwright.chromium.launch(executable_path=executable, headless=True)


def sign_in(page: Page, name: str, password: str) -> None:
    """Fill and send the sign-in form on the current page (/login)."""
    form = page.locator("#login-form")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=password]").fill(password)
    form.get_by_role("button", name="Sign in").click()


def column(table: Locator, label: str) -> int:
    """The 1-based position of the column headed `label` in a data table (for nth-child)."""
    headers = [text.strip() for text in table.locator("thead th").all_text_contents()]
    if label not in headers:
        raise AssertionError(f"no column {label!r} in {headers}")
    return headers.index(label) + 1


def cells(table: Locator, label: str) -> Locator:
    """The body cells of one column of a data table."""
    return table.locator(f"tbody tr > td:nth-child({column(table, label)})")
