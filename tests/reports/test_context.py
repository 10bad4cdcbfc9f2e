"""Tests for reports.context: the report's input and its privacy rules."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analytics.change import dimension_change
from reports.context import (
    QUANTILE_LEVELS,
    OrgDistribution,
    TeamReportContext,
    TeamSuppressed,
    UnknownTeam,
)
from tests.reports.conftest import SIZES, make_context


def test_small_team_is_suppressed_with_a_clear_message(analysis, instrument) -> None:
    with pytest.raises(TeamSuppressed) as caught:
        make_context(analysis, instrument, "tiny")
    assert "3 of the 5 responses needed" in str(caught.value)
    assert (caught.value.n, caught.value.threshold, caught.value.team) == (3, 5, "tiny")


def test_unknown_team_is_a_key_error_naming_the_teams(analysis, instrument) -> None:
    with pytest.raises(KeyError) as caught:
        make_context(analysis, instrument, "nowhere")
    assert isinstance(caught.value, UnknownTeam)
    message = str(caught.value)
    assert "'nowhere'" in message and "'deadline'" in message


def test_basic_fields(context, analysis, instrument) -> None:
    assert context.team == "deadline"
    assert context.n == SIZES["deadline"]
    assert context.invited == SIZES["deadline"] + 2
    assert context.response_rate == pytest.approx(14 / 16)
    assert context.threshold == 5
    assert context.n_round == sum(SIZES.values())
    assert context.diagnosis is analysis.diagnosis.teams["deadline"]
    assert [d.id for d in context.dimensions] == [d.id for d in instrument.dimensions]
    assert {d.kind for d in context.blockers} == {"blocker"}
    assert len(context.practices) == 6
    # Plain-language names come from the diagnosis (the advice file).
    assert context.name_of("time_pressure") == analysis.diagnosis.org["time_pressure"].name
    assert context.dimension("time_pressure").behaviour


def test_context_is_frozen(context) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.team = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        context.org_distributions["trust"] = None  # type: ignore[index]


def _reference_scores(analysis, dim_id: str) -> np.ndarray:
    """The org reference recomputed from the diagnosis rules: shown teams only here,
    because the remainder (the tiny team, 3 people) is under the threshold."""
    shown = [t for t, d in analysis.diagnosis.teams.items() if not d.suppressed]
    rows = analysis.teams.isin(shown).to_numpy()
    return analysis.scores.loc[rows, dim_id].dropna().to_numpy()


def test_org_quantiles_match_an_independent_computation(context, analysis) -> None:
    assert not analysis.diagnosis.org["trust"].includes_unshown
    for dim in context.blockers:
        dist = context.org_distributions[dim.id]
        scores = _reference_scores(analysis, dim.id)
        assert dist.n == len(scores)
        expected = pd.Series(scores).quantile([p / 100 for p in QUANTILE_LEVELS]).to_numpy()
        assert np.allclose([v for v in dist.values], expected)
        assert list(dist.values) == sorted(dist.values)


def test_outer_quantiles_are_withheld_in_a_small_organization() -> None:
    from reports.context import _org_distribution  # the rule itself, on a tiny organization

    finding = SimpleNamespace(withheld=False)
    diagnosis = SimpleNamespace(
        teams={"a": SimpleNamespace(suppressed=False, dimensions={"trust": finding})},
        org={"trust": SimpleNamespace(includes_unshown=False)},
    )
    scores = pd.DataFrame({"trust": np.linspace(1, 5, 30)})
    fake = SimpleNamespace(scores=scores, diagnosis=diagnosis)
    labels = pd.Series(["a"] * 30, dtype=object)
    dist = _org_distribution(fake, labels, ["a"], "trust", threshold=5)
    assert isinstance(dist, OrgDistribution)
    # 30 * 5% = 1.5 and 30 * 10% = 3 people beyond the edge: fewer than 5, withheld.
    assert dist.quantile(5) is None and dist.quantile(95) is None
    assert dist.quantile(10) is None and dist.quantile(90) is None
    assert dist.quantile(25) == pytest.approx(np.quantile(scores["trust"], 0.25))
    assert dist.quantile(50) == pytest.approx(3.0)


def test_spread_reference_matches_the_diagnosis_threshold(context, analysis) -> None:
    for dim in context.blockers:
        ref = context.spread_references[dim.id]
        sds = [
            t.dimensions[dim.id].sd for t in analysis.diagnosis.teams.values() if not t.suppressed
        ]
        assert ref.n_teams == len(sds) == 7
        assert ref.q50 == pytest.approx(np.median(sds))
        # The diagnosis flags a team at or above the 75th percentile of team SDs.
        assert ref.q75 == pytest.approx(analysis.diagnosis.org[dim.id].spread_threshold)


def test_reliability_and_profiles(context, analysis) -> None:
    assert [r.dimension for r in context.reliability] == list(analysis.reliability.index)
    trust = next(r for r in context.reliability if r.dimension == "trust")
    assert trust.alpha == pytest.approx(analysis.reliability.loc["trust", "alpha"])
    assert trust.n_items == 5
    info = context.profiles
    assert info is not None
    assert info.k == analysis.profile_model.k_
    assert [p.name for p in info.profiles] == [str(n) for n in analysis.profile_model.names_]
    assert all(p.meaning.endswith(".") and len(p.meaning) > 10 for p in info.profiles)
    assert info.stability_ari == pytest.approx(analysis.stability.mean_ari)
    assert info.stability_verdict == analysis.stability.verdict


def test_change_matches_dimension_change(context, analysis, previous) -> None:
    name, before = previous
    assert context.change is not None and context.change.previous_round == name
    team_rows = (analysis.teams == "deadline").to_numpy()
    expected = dimension_change(before, analysis.scores.loc[team_rows])
    got = context.change.frame()
    assert list(got.index) == list(expected.index)
    for column in ("mean_before", "mean_after", "change", "ci_low", "ci_high"):
        assert np.allclose(got[column].astype(float), expected[column])
    assert (got["n_after"] == expected["n_after"]).all()
    assert not got["withheld"].any()


def test_change_is_withheld_when_the_earlier_round_is_too_small(analysis, instrument, previous):
    name, before = previous
    context = make_context(analysis, instrument, "deadline", (name, before.iloc[:4]))
    rows = context.change.rows
    assert rows and all(r.withheld and r.change is None and r.mean_before is None for r in rows)


def _contents(value, seen=None):
    """Every value reachable through dataclass fields, mappings and tuples."""
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return
    seen.add(id(value))
    yield value
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _contents(getattr(value, f.name), seen)
    elif hasattr(value, "items"):
        for k, v in value.items():
            yield from _contents(k, seen)
            yield from _contents(v, seen)
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _contents(v, seen)


def test_context_holds_aggregates_only(context) -> None:
    """No frames, arrays or per-respondent series: nothing that could hold individual answers."""
    assert isinstance(context, TeamReportContext)
    for value in _contents(context):
        assert not isinstance(value, pd.DataFrame | pd.Series | np.ndarray), type(value)
    for dist in context.org_distributions.values():
        assert len(dist.values) == len(QUANTILE_LEVELS)


def test_reports_never_imports_web_or_database_code() -> None:
    code = (
        "import sys, reports, reports.context, reports.charts, reports.team_report;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'sqlalchemy', 'survey'} or m == 'matplotlib.pyplot');"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_exports_lazily() -> None:
    import reports

    assert reports.build_team_context.__module__ == "reports.context"
    assert reports.render_team_report.__module__ == "reports.team_report"
    with pytest.raises(AttributeError):
        _ = reports.nothing_here


def test_round_wide_parts_are_built_once_and_shared(analysis, instrument) -> None:
    north = make_context(analysis, instrument, "north")
    south = make_context(analysis, instrument, "south")
    assert north.org_distributions is south.org_distributions
    assert north.spread_references is south.spread_references
    assert north.reliability is south.reliability and north.profiles is south.profiles
    assert make_context(analysis, instrument, "north") == north
