"""Accessibility audits with axe-core, loaded from an installed package (never downloaded).

axe-core's ``axe.min.js`` ships inside the ``axe-playwright-python`` wheel. The
app's Content Security Policy blocks inline ``<script>`` elements, so the source
is evaluated through Playwright (the DevTools protocol is not subject to the
page's CSP) rather than added to the DOM.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from playwright.sync_api import Page

AXE_PACKAGE = "axe_playwright_python"
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@cache
def axe_source() -> str:
    """The text of ``axe.min.js`` from the installed ``axe-playwright-python`` package.

    Raises
    ------
    ModuleNotFoundError
        When the package is not installed.

    Examples
    --------
    >>> axe_source().startswith("/*! axe v")  # doctest: +SKIP
    True
    """
    return resources.files(AXE_PACKAGE).joinpath("axe.min.js").read_text(encoding="utf-8")


def run_axe(page: Page) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now (all impacts).

    Examples
    --------
    >>> [v["id"] for v in run_axe(page)]  # doctest: +SKIP
    []
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return list(results["violations"])


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations of impact ``serious`` or ``critical``."""
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and per offending element: id, impact, help and target.

    Examples
    --------
    >>> describe([{"id": "label", "impact": "critical", "help": "Form elements must have labels",
    ...            "nodes": [{"target": ["#x"]}]}])
    'label (critical): Form elements must have labels\\n    at #x'
    """
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation.get('impact')}): {violation.get('help', '')}")
        for node in violation.get("nodes", []):
            lines.append(f"    at {' '.join(str(t) for t in node.get('target', []))}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """Fail when axe-core finds a serious or critical violation on the page."""
    found = blocking(run_axe(page))
    assert not found, f"axe-core violations on {page.url}:\n{describe(found)}"
