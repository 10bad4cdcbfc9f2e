"""The round-analysis pipeline behind ``negoscope analyze``.

One call runs every analysis of a survey round in order - score, check
reliability, fit profiles on the blocker scores, check their stability,
diagnose the teams - and returns a :class:`RoundAnalysis` that can be written
as JSON (:meth:`RoundAnalysis.to_json_dict`) and as a per-respondent
assignments table (:meth:`RoundAnalysis.assignments_frame`).

Examples
--------
>>> from analytics.instrument_parser import load_default_instrument
>>> from analytics.profiles import ProfileModel
>>> from analytics.synthetic import simulate_responses
>>> instrument = load_default_instrument()
>>> sim = simulate_responses(instrument, n_respondents=120, teams=4, random_state=0)
>>> model = ProfileModel(k_range=(1, 3), covariance_types=("diag",), n_init=2, random_state=0)
>>> analysis = analyze_round(
...     sim.data, instrument, round_name="spring", profile_model=model, stability_boot=0
... )
>>> sorted(analysis.to_json_dict())[:4]
['anonymity_threshold', 'instrument', 'n_respondents', 'org']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.diagnosis import RoundDiagnosis, diagnose_round, json_number
from analytics.instrument import Instrument
from analytics.profile_em import blas_single_thread
from analytics.profiles import ProfileModel, StabilityResult, profile_stability
from analytics.reliability import reliability as reliability_table
from analytics.scoring import DEFAULT_MIN_FRACTION, score_dimensions

__all__ = ["MIN_PROFILE_RESPONDENTS", "RoundAnalysis", "analyze_round"]

#: Fewest respondents with complete blocker scores for which profiles are fitted
#: (a mixture needs at least two rows).
MIN_PROFILE_RESPONDENTS = 2
#: The default model considers at most one profile per this many complete respondents
#: (and never more than 8): a small round cannot support many latent classes, and a
#: bootstrap resample of it may hold fewer distinct people than profiles.
RESPONDENTS_PER_PROFILE = 10
MAX_PROFILES = 8


@dataclass(frozen=True, eq=False)
class RoundAnalysis:
    """Everything computed for one survey round.

    Attributes
    ----------
    round_name : str
    instrument : Instrument
    scores : pandas.DataFrame
        Dimension scores, index of the input data.
    reliability : pandas.DataFrame
        :func:`analytics.reliability.reliability` of every dimension.
    profile_model : ProfileModel or None
        The fitted profile model (blocker dimensions); ``None`` when fewer than
        :data:`MIN_PROFILE_RESPONDENTS` respondents have complete blocker scores.
    stability : StabilityResult or None
        Bootstrap stability of the profiles; ``None`` when not computed.
    diagnosis : RoundDiagnosis
        Team diagnoses.
    assignments : pandas.Series
        Most likely profile per respondent (``NA`` when unassigned).
    respondents : pandas.Series
        Respondent id per row (the ``respondent`` column, else the index).
    teams : pandas.Series
        Team per row.
    """

    round_name: str
    instrument: Instrument
    scores: pd.DataFrame
    reliability: pd.DataFrame
    profile_model: ProfileModel | None
    stability: StabilityResult | None
    diagnosis: RoundDiagnosis
    assignments: pd.Series
    respondents: pd.Series
    teams: pd.Series

    def to_json_dict(self) -> dict[str, Any]:
        """The whole analysis as JSON-safe data (``json.dumps(..., allow_nan=False)`` works).

        A suppressed team appears only as ``{"n": ..., "suppressed": true}``.
        """
        diagnosis = self.diagnosis.to_dict()
        return {
            "round": self.round_name,
            "instrument": {
                "id": self.instrument.id,
                "version": self.instrument.version,
                "content_hash": self.instrument.content_hash,
            },
            "n_respondents": self.diagnosis.n_respondents,
            "anonymity_threshold": self.diagnosis.threshold,
            "thresholds": diagnosis["thresholds"],
            "reliability": _reliability_dict(self.reliability),
            "profiles": self._profiles_dict(),
            "org": diagnosis["org"],
            "teams": diagnosis["teams"],
        }

    def assignments_frame(self) -> pd.DataFrame:
        """One row per respondent: ``respondent``, ``team`` and ``profile`` ("" if none)."""
        profile = self.assignments.astype(object).where(self.assignments.notna(), "")
        team = self.teams.astype(object).where(self.teams.notna(), "")
        return pd.DataFrame(
            {
                "respondent": self.respondents.astype(str).to_numpy(),
                "team": team.astype(str).to_numpy(),
                "profile": profile.astype(str).to_numpy(),
            }
        )

    def _profiles_dict(self) -> dict[str, Any] | None:
        model = self.profile_model
        if model is None:
            return None
        stability = self.stability
        table = model.fit_table_
        best_bic = table.groupby("k")["bic"].min()
        sizes = model.sizes_
        return {
            "method": model.method,
            "k": int(model.k_),
            "names": [str(name) for name in model.names_],
            "bic": {str(int(k)): json_number(v) for k, v in best_bic.items()},
            "sizes": {str(name): int(size) for name, size in sizes.items()},
            "centroids": {
                str(name): {str(dim): json_number(v) for dim, v in row.items()}
                for name, row in model.centroids_.iterrows()
            },
            "stability_ari": None if stability is None else json_number(stability.mean_ari),
            "stability_verdict": None if stability is None else stability.verdict,
            "stability_jaccard": None
            if stability is None
            else {str(name): json_number(v) for name, v in stability.jaccard.items()},
            "warnings": [str(w) for w in model.warnings_],
            "fit_table": _records(table),
        }


def analyze_round(
    data: pd.DataFrame,
    instrument: Instrument,
    *,
    round_name: str,
    threshold: int = 5,
    invited: Mapping[str, int] | None = None,
    random_state: int | None = 0,
    profile_model: ProfileModel | None = None,
    stability_boot: int = 20,
    progress: Callable[[str], None] | None = None,
    team_col: str = "team",
    min_fraction: float = DEFAULT_MIN_FRACTION,
) -> RoundAnalysis:
    """Run every analysis of a survey round.

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame: ``team``, optionally ``respondent``, one column per item.
    instrument : Instrument
        The questionnaire answered.
    round_name : str
        Shown in the JSON output.
    threshold : int, default 5
        Anonymity threshold (see :func:`analytics.diagnosis.diagnose_round`).
    invited : mapping of str to int, optional
        People invited per team, for response rates.
    random_state : int or None, default 0
        Seed for the default profile model and the stability bootstrap.
    profile_model : ProfileModel, optional
        An unfitted model is fitted on the blocker scores; a fitted one (with
        ``names_``) is used as it is, to place a new round on earlier profiles.
        Default: ``ProfileModel(random_state=random_state)``.
    stability_boot : int, default 20
        Bootstrap resamples for :func:`analytics.profiles.profile_stability`;
        0 skips the stability check.
    progress : callable, optional
        Called with a short message before each step.
    team_col : str, default "team"
        Column holding team names.
    min_fraction : float, default 2/3
        Share of a dimension's items needed for a score.

    Returns
    -------
    RoundAnalysis
    """
    report = progress or (lambda message: None)
    if team_col not in data.columns:
        raise KeyError(f"the data has no team column {team_col!r}; pass team_col=...")

    report(f"Scoring {len(data)} respondents")
    scores = score_dimensions(data, instrument, min_fraction=min_fraction)

    report("Checking reliability")
    alphas = reliability_table(data, instrument)

    blocker_dims = instrument.blocker_dimensions
    blockers = scores[[dim.id for dim in blocker_dims]]
    model, stability, probabilities = None, None, None
    assignments = pd.Series(pd.NA, index=data.index, dtype=object, name="profile")
    n_complete = int(blockers.notna().all(axis=1).sum())
    if n_complete < MIN_PROFILE_RESPONDENTS:
        report(f"Skipping profiles: only {n_complete} respondents have every blocker score")
    else:
        model = profile_model
        if model is None:
            names = {dim.id: dim.name for dim in blocker_dims}
            max_k = max(1, min(MAX_PROFILES, n_complete // RESPONDENTS_PER_PROFILE))
            model = ProfileModel(
                k_range=(1, max_k), random_state=random_state, dimension_names=names
            )
        with blas_single_thread():  # once for every mixture fitted or evaluated below
            if not hasattr(model, "names_"):
                report("Fitting profiles")
                model.fit(blockers)
            if stability_boot > 0 and len(model.names_) > 1:
                report(f"Checking profile stability ({stability_boot} resamples)")
                stability = profile_stability(
                    model, blockers, n_boot=stability_boot, random_state=random_state
                )
            probabilities = model.predict_proba(blockers)
            assignments = model.predict(blockers)

    report("Diagnosing teams")
    diagnosis = diagnose_round(
        data,
        instrument,
        team_col=team_col,
        threshold=threshold,
        invited=invited,
        profiles=probabilities,
        min_fraction=min_fraction,
        scores=scores,
    )
    respondents = data["respondent"] if "respondent" in data.columns else data.index.to_series()
    return RoundAnalysis(
        round_name=round_name,
        instrument=instrument,
        scores=scores,
        reliability=alphas,
        profile_model=model,
        stability=stability,
        diagnosis=diagnosis,
        assignments=assignments,
        respondents=pd.Series(respondents.to_numpy(), index=data.index, name="respondent"),
        teams=data[team_col],
    )


def _reliability_dict(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(dim): {
            "alpha": json_number(row["alpha"]),
            "n_items": int(row["n_items"]),
            "n_complete": int(row["n_complete"]),
            "flagged": bool(row["flagged"]),
        }
        for dim, row in frame.iterrows()
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-safe dicts."""
    return [{str(k): _json_value(v) for k, v in row.items()} for _, row in frame.iterrows()]


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return json_number(value)
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
