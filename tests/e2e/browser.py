"""Helpers for the browser tests: Debian's Chromium under Playwright, sign-in, table columns.

Playwright never downloads a browser here: it drives the `chromium` that
scripts/install-services installs from Debian.
"""

import shutil

from playwright.sync_api import Browser, Locator, Page, Playwright, ViewportSize

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)


def chromium_path() -> str | None:
    """The system's Chromium, or None when it is not installed."""
    return shutil.which("chromium")


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
