"""Tests for analytics.pipeline."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.pipeline import (
    MIN_STABILITY_ARI,
    NO_STRUCTURE,
    NOT_FITTED,
    PROFILES_FOUND,
    RoundAnalysis,
    analyze_round,
)
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
    assert set(trust) == {
        "alpha", "alpha_ci_low", "alpha_ci_high", "omega", "n_items", "n_complete", "flagged"
    }  # fmt: skip
    assert trust["alpha_ci_low"] <= trust["alpha"] <= trust["alpha_ci_high"]
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
    assert profiles["outcome"] == PROFILES_FOUND and profiles["reason"] is None
    assert profiles["criterion"] == "icl"
    assert profiles["selected_k"] == profiles["k"]
    assert profiles["icl"]["2"] == pytest.approx(model.fit_table_.groupby("k")["icl"].min()[2])
    assert {"icl", "blrt_p"} <= set(profiles["fit_table"][0])

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
    assert analysis.profile_fit is None and analysis.profile_outcome == NOT_FITTED
    assert "only 1 respondents" in analysis.profile_reason
    assert any("Skipping profiles" in m for m in messages)
    assert out["teams"]["solo"]["profile_mix"] is None
    assert set(analysis.assignments_frame()["profile"]) == {""}
    json.dumps(out, allow_nan=False)


def test_the_instrument_sets_the_variance_floor(analysis) -> None:
    # Answers are missing now and then, so some blocker scores are means of 4 answers
    # (steps of 1/4), the coarsest grid; the smallest gap between scores is 1/20.
    model = analysis.profile_fit
    assert model is analysis.profile_model and analysis.profile_outcome == PROFILES_FOUND
    np.testing.assert_allclose(model.resolution_, 0.25)
    np.testing.assert_allclose(model.reg_covar_, (0.25 / model.scaler_.scale_) ** 2 / 12)


@pytest.fixture(scope="module")
def blob(default_instrument) -> pd.DataFrame:
    """One profile: every respondent drawn around the scale midpoints."""
    return simulate_responses(
        default_instrument,
        n_respondents=300,
        teams={"alpha": 150, "bravo": 150},
        profiles={"everyone": {}},
        random_state=2,
    ).data


def assert_no_profiles_reported(analysis: RoundAnalysis) -> dict:
    assert analysis.profile_outcome == NO_STRUCTURE
    assert analysis.profile_model is None and analysis.profile_fit is not None
    assert analysis.assignments.isna().all()
    assert set(analysis.assignments_frame()["profile"]) == {""}
    out = analysis.to_json_dict()
    json.dumps(out, allow_nan=False)
    profiles = out["profiles"]
    assert profiles["outcome"] == NO_STRUCTURE and profiles["reason"]
    assert profiles["k"] == 0 and profiles["names"] == []
    assert profiles["sizes"] == {} and profiles["centroids"] == {}
    assert profiles["selected_k"] == analysis.profile_fit.k_
    assert len(profiles["fit_table"]) == len(analysis.profile_fit.fit_table_)
    assert all(team.get("profile_mix") is None for team in out["teams"].values())
    return profiles


def test_one_profile_means_no_profile_structure(blob, default_instrument) -> None:
    messages: list[str] = []
    analysis = analyze_round(
        blob,
        default_instrument,
        round_name="blob",
        profile_model=small_model(),
        stability_boot=3,
        progress=messages.append,
    )
    assert analysis.profile_fit.k_ == 1
    assert analysis.stability is None  # nothing to resample with one profile
    profiles = assert_no_profiles_reported(analysis)
    assert "one profile fits best" in profiles["reason"]
    assert any("No profile structure" in m for m in messages)


def test_unstable_profiles_mean_no_profile_structure(blob, default_instrument) -> None:
    forced = ProfileModel(k_range=3, covariance_types=("diag",), n_init=2, random_state=0)
    analysis = analyze_round(
        blob, default_instrument, round_name="blob", profile_model=forced, stability_boot=5
    )
    assert analysis.profile_fit is forced and forced.k_ == 3
    assert analysis.stability.mean_ari < MIN_STABILITY_ARI
    profiles = assert_no_profiles_reported(analysis)
    assert "not stable" in profiles["reason"]
    assert profiles["stability_ari"] == pytest.approx(analysis.stability.mean_ari)
