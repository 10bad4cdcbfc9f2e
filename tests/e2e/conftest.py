"""Browser fixtures: Debian's Chromium driven by Playwright against a live server.

The app runs for real (CSRF on, security headers on) on a free loopback port in
a background thread, on a fresh SQLite file database per test. The browser is
started once per session; each test gets fresh contexts, so no cookies leak.
Every page a test visits must be checked with :meth:`BrowserSession.check`
(axe-core, no serious or critical violations); a visited page left unchecked
fails the test at teardown.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import make_server

from survey.extensions import db
from tests.conftest import make_app
from tests.e2e.axe import assert_accessible, axe_source

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI") == "true"
TIMEOUT_MS = 10_000


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where the browser tests must run."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@dataclass
class LiveServer:
    """The application served over HTTP on a loopback port."""

    app: Flask
    url: str

    def __call__(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.url + path


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The real app (CSRF on) on a fresh SQLite file, served from a background thread."""
    app = make_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path, WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system (never a downloaded browser)."""
    if not CHROMIUM.exists():
        unavailable(f"Chromium not found at {CHROMIUM}")
    try:
        axe_source()
    except ModuleNotFoundError:
        unavailable("axe-playwright-python (which ships axe-core) is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class BrowserSession:
    """Opens pages on the live server and audits every page they visit."""

    browser: Browser
    server: LiveServer
    contexts: list[BrowserContext] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    unchecked: dict[Page, list[str]] = field(default_factory=dict)

    def new_page(self, **context_options: Any) -> Page:
        """A page in a new context (own cookies), with dialogs recorded and dismissed."""
        context = self.browser.new_context(base_url=self.server.url, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        pending = self.unchecked.setdefault(page, [])

        def navigated(frame: Any) -> None:
            if frame == page.main_frame:
                pending.append(frame.url)

        def dialog(shown: Any) -> None:
            self.dialogs.append(f"{shown.type}: {shown.message}")
            shown.dismiss()

        page.on("framenavigated", navigated)
        page.on("dialog", dialog)
        return page

    def check(self, page: Page) -> None:
        """Assert the current page has no serious or critical axe-core violation."""
        page.wait_for_load_state()
        assert_accessible(page)
        self.unchecked[page].clear()

    def log_in(self, page: Page, email: str, password: str) -> None:
        """Log in through the form, checking the login page on the way."""
        page.goto("/login")
        self.check(page)
        page.locator("#email").fill(email)
        page.locator("#password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        assert "/login" not in page.url, f"login as {email} failed: {page.url}"

    def close(self) -> list[str]:
        """Close every context; return the visited pages that were never checked."""
        for context in self.contexts:
            context.close()
        return [url for urls in self.unchecked.values() for url in urls]


@pytest.fixture
def browsing(browser: Browser, live_server: LiveServer) -> Iterator[BrowserSession]:
    """Pages for one test; fails the test if a visited page skipped the axe check."""
    session = BrowserSession(browser, live_server)
    yield session
    missed = session.close()
    assert not missed, f"pages visited without an accessibility check: {missed}"


@pytest.fixture
def page(browsing: BrowserSession) -> Page:
    """A desktop-sized page in its own context."""
    return browsing.new_page(viewport={"width": 1280, "height": 800})
