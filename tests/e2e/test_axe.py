"""The accessibility check really runs under the app's CSP and reports what it finds."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.axe import assert_accessible, blocking, run_axe
from tests.e2e.conftest import BrowserSession

pytestmark = pytest.mark.browser


def test_axe_runs_under_the_csp_and_names_each_violation(
    browsing: BrowserSession, page: Page
) -> None:
    page.goto("/login")
    browsing.check(page)
    assert page.evaluate("typeof axe.run") == "function"

    page.evaluate(
        """() => {
            const img = document.createElement('img');
            img.id = 'no-alt';
            document.querySelector('main').append(img);
        }"""
    )
    found = blocking(run_axe(page))
    assert [(v["id"], v["impact"]) for v in found] == [("image-alt", "critical")]
    with pytest.raises(AssertionError, match=r"image-alt \(critical\).*\n\s+at #no-alt"):
        assert_accessible(page)
