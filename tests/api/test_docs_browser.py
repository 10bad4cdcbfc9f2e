"""The browsable API docs render in Chromium under the page's Content-Security-Policy."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_swagger_ui_renders_every_operation_without_csp_errors(app):
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on(
                "request",
                lambda r: (
                    problems.append(f"off-site {r.url}")
                    if not r.url.startswith(("http://127.0.0.1", "data:"))
                    else None
                ),
            )
            page.goto(f"http://127.0.0.1:{server.server_port}/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            spec = app.test_client().get("/api/v1/openapi.json").json
            methods = {"get", "post", "put", "patch", "delete"}
            operations = sum(len(methods & set(item)) for item in spec["paths"].values())
            assert page.locator(".opblock").count() == operations
            assert page.get_by_role("button", name="Authorize").count() == 1
            browser.close()
    finally:
        server.shutdown()
    assert [p for p in problems if "favicon" not in p and "404" not in p] == []
