"""Headless Chromium for the tests in this folder: the system browser, driven by Playwright.

Playwright never downloads a browser here. The pages run under the server's Content-Security-
Policy, which forbids `eval`; Playwright's `wait_for_function` evaluates its predicate that way,
so waits on page state go through `wait_until` (DevTools evaluation, which CSP does not govern).
"""

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LIVE_TIMEOUT_MS = 5000
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_chromium() -> None:
    """Skip locally without a system Chromium; in CI that is a failure, not a skip."""
    if CHROMIUM.exists():
        return
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} not installed")


@contextlib.contextmanager
def launch_chromium() -> Iterator[Browser]:
    """The system Chromium, headless. Called in the test body, after the fixtures' ORM work."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_until(page: Page, expression: str, *, timeout_ms: int = LIVE_TIMEOUT_MS) -> None:
    """Wait until the JavaScript `expression` is truthy in `page`; fail after `timeout_ms`."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(50)
