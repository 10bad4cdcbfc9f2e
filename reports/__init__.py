"""Team reports: a PDF of a team's findings and SVG charts for the dashboard.

The package takes analytics results only (it never imports the web app or the
database) and renders them with matplotlib's object-oriented API.

* :func:`build_team_context` gathers what one team's report needs from a
  :class:`analytics.pipeline.RoundAnalysis` (:mod:`reports.context`);
* :func:`render_team_report` turns it into an A4 PDF (:mod:`reports.team_report`);
* :func:`render_chart_svg` draws one of its charts as SVG (:mod:`reports.charts`).

Names are imported lazily, so ``import reports`` does not load matplotlib.

Examples
--------
>>> from reports import build_team_context, render_team_report  # doctest: +SKIP
>>> context = build_team_context(  # doctest: +SKIP
...     analysis, "team-02", organization="Acme", round_name="Spring 2025",
...     instrument=instrument, report_date=date(2025, 5, 1),
... )
>>> pdf_bytes = render_team_report(context)  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "CHART_KINDS",
    "TeamReportContext",
    "TeamSuppressed",
    "UnknownTeam",
    "build_team_context",
    "render_chart_svg",
    "render_team_report",
]

_HOME = {
    "CHART_KINDS": "reports.charts",
    "render_chart_svg": "reports.charts",
    "TeamReportContext": "reports.context",
    "TeamSuppressed": "reports.context",
    "UnknownTeam": "reports.context",
    "build_team_context": "reports.context",
    "render_team_report": "reports.team_report",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'reports' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
