"""Tests for analytics.pipeline."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.pipeline import RoundAnalysis, analyze_round
from analytics.profiles import ProfileModel
from analytics.synthetic import simulate_responses


def small_model(random_state: int = 0) -> ProfileModel:
    return ProfileModel(
        k_range=(1, 4), covariance_types=("diag",), n_init=2, random_state=random_state
    )


@pytest.fixture(scope="module")
def round_data(default_instrument) -> pd.DataFrame:
    sizes = {"alpha": 60, "bravo": 60, "charlie": 60, "delta": 57, "echo": 3}
    return simulate_responses(
        default_instrument,
        n_respondents=sum(sizes.values()),
        teams=sizes,
        missing_rate=0.02,
        random_state=7,
    ).data


@pytest.fixture(scope="module")
def analysis(round_data, default_instrument) -> RoundAnalysis:
    return analyze_round(
        round_data,
        default_instrument,
        round_name="Spring 2025",
        invited={"alpha": 70, "bravo": 60, "charlie": 80, "delta": 60, "echo": 9},
        profile_model=small_model(),
        stability_boot=3,
    )


def test_json_has_the_documented_keys(analysis, default_instrument) -> None:
    out = analysis.to_json_dict()
    assert out["round"] == "Spring 2025"
    assert out["instrument"]["id"] == default_instrument.id
    assert out["instrument"]["version"] == default_instrument.version
    assert out["n_respondents"] == 240
    assert out["anonymity_threshold"] == 5

    assert set(out["reliability"]) == {d.id for d in default_instrument.dimensions}
    trust = out["reliability"]["trust"]
    assert set(trust) == {"alpha", "n_items", "n_complete", "flagged"}
    assert trust["n_items"] == 5 and isinstance(trust["flagged"], bool)

    profiles = out["profiles"]
    model = analysis.profile_model
    assert profiles["k"] == model.k_
    assert profiles["method"] == "gmm"
    assert set(profiles["bic"]) == {"1", "2", "3", "4"}
    best = model.fit_table_.groupby("k")["bic"].min()
    assert profiles["bic"]["2"] == pytest.approx(best.loc[2])
    assert set(profiles["sizes"]) == {str(n) for n in model.names_}
    assert sum(profiles["sizes"].values()) <= 240
    assert profiles["stability_ari"] == pytest.approx(analysis.stability.mean_ari)
    assert len(profiles["fit_table"]) == len(model.fit_table_)

    alpha = out["teams"]["alpha"]
    assert alpha["n"] == 60 and alpha["suppressed"] is False
    assert alpha["response_rate"] == pytest.approx(60 / 70)
    time_pressure = alpha["dimensions"]["time_pressure"]
    for key in ("mean", "percentile", "ci", "sd", "prevalence"):
        assert key in time_pressure
    assert len(time_pressure["ci"]) == 2
    assert isinstance(alpha["top_blockers"], list)
    assert alpha["profile_mix"] is not None


def test_suppressed_team_appears_only_as_n_and_flag(analysis) -> None:
    assert analysis.to_json_dict()["teams"]["echo"] == {"n": 3, "suppressed": True}


def test_json_is_strict(analysis) -> None:
    text = json.dumps(analysis.to_json_dict(), allow_nan=False)
    assert "NaN" not in text


def test_assignments_frame(analysis, round_data) -> None:
    frame = analysis.assignments_frame()
    assert frame.columns.tolist() == ["respondent", "team", "profile"]
    assert frame["respondent"].tolist() == round_data["respondent"].tolist()
    assert frame["team"].tolist() == round_data["team"].tolist()
    names = {str(n) for n in analysis.profile_model.names_}
    assert set(frame["profile"]) <= names | {""}
    expected_blank = analysis.assignments.isna().to_numpy()
    assert (frame["profile"].to_numpy() == "")[expected_blank].all()


def test_progress_messages_and_fitted_model_reuse(round_data, default_instrument) -> None:
    messages: list[str] = []
    first = analyze_round(
        round_data,
        default_instrument,
        round_name="r1",
        profile_model=small_model(),
        stability_boot=0,
        progress=messages.append,
    )
    assert any("Fitting profiles" in m for m in messages)
    assert first.stability is None
    assert first.to_json_dict()["profiles"]["stability_ari"] is None

    again: list[str] = []
    second = analyze_round(
        round_data.iloc[:120],
        default_instrument,
        round_name="r2",
        profile_model=first.profile_model,
        stability_boot=0,
        progress=again.append,
    )
    assert second.profile_model is first.profile_model
    assert not any("Fitting profiles" in m for m in again)
    assert second.to_json_dict()["n_respondents"] == 120


def test_missing_team_column_is_explained(round_data, default_instrument) -> None:
    with pytest.raises(KeyError, match="no team column"):
        analyze_round(
            round_data.drop(columns="team"),
            default_instrument,
            round_name="x",
            profile_model=small_model(),
        )


def test_tiny_round_skips_profiles_but_still_reports(default_instrument) -> None:
    data = simulate_responses(
        default_instrument, n_respondents=6, teams={"solo": 6}, random_state=1
    ).data
    blocker_items = [i for d in default_instrument.blocker_dimensions for i in d.item_ids]
    data.loc[data.index[1:], blocker_items[:5]] = float("nan")  # only one complete row left
    messages: list[str] = []
    analysis = analyze_round(data, default_instrument, round_name="tiny", progress=messages.append)
    out = analysis.to_json_dict()
    assert out["profiles"] is None and analysis.profile_model is None
    assert any("Skipping profiles" in m for m in messages)
    assert out["teams"]["solo"]["profile_mix"] is None
    assert set(analysis.assignments_frame()["profile"]) == {""}
    json.dumps(out, allow_nan=False)
