"""The browsable API docs render the OpenAPI 3.1 document in Chromium under the page's
Content-Security-Policy, with nothing fetched from another host."""

from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_swagger_ui_renders_every_operation_of_the_31_document_without_csp_errors(app):
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    spec = app.test_client().get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1.")
    expected = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    }
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            errors: list[str] = []
            requests: list[str] = []
            failed: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            page.add_init_script(
                "document.addEventListener('securitypolicyviolation', e =>"
                " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
            )
            page.goto(f"{origin}/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            rendered = page.eval_on_selector_all(
                ".opblock",
                """blocks => blocks.map(b => [
                    b.querySelector('.opblock-summary-method').textContent.trim(),
                    b.querySelector('.opblock-summary-path').getAttribute('data-path'),
                ])""",
            )
            version = page.evaluate("window.versions && window.versions.swaggerUI.version")
            stamp = page.locator(".info .version-stamp").inner_text()
            title = page.locator(".info .title").inner_text()
            authorize = page.get_by_role("button", name="Authorize").count()
            # schemas drawn by the JSON Schema 2020-12 renderer (3.1's dialect); a 3.1 type
            # list such as ["string", "null"] is shown as such, not read as 3.0's "nullable"
            round_schema = (
                page.locator("section.models article[data-json-schema-level='0']")
                .filter(has=page.get_by_text("Round", exact=True))
                .first
            )
            round_schema.locator(".json-schema-2020-12-expand-deep-button").first.click()
            round_model = round_schema.inner_text()
            browser.close()
    finally:
        server.shutdown()
    assert version.startswith("5."), version  # Swagger UI 5 reads OpenAPI 3.1 natively
    assert "OAS 3.1" in stamp
    assert spec["info"]["title"] in title
    assert sorted(tuple(r) for r in rendered) == sorted(expected)
    assert authorize == 1
    assert "closes_atstring | null" in round_model.replace("\n", "")
    assert errors == [] and failed == []
    off_site = [u for u in requests if urlsplit(u).scheme != "data" and not u.startswith(origin)]
    assert off_site == []
    assert spec["security"] == [{"bearerAuth": []}]
    # every schema is a valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1)
    import jsonschema_rs

    for name, schema in spec["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        ), name
    nullable = spec["components"]["schemas"]["Round"]["properties"]["closes_at"]
    assert nullable["type"] == ["string", "null"]  # 3.1's way, not 3.0's "nullable"
