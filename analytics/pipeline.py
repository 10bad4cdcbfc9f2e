"""The round-analysis pipeline behind ``negoscope analyze``.

One call runs every analysis of a survey round in order - score, check
reliability, fit profiles on the blocker scores, check their stability,
diagnose the teams - and returns a :class:`RoundAnalysis` that can be written
as JSON (:meth:`RoundAnalysis.to_json_dict`) and as a per-respondent
assignments table (:meth:`RoundAnalysis.assignments_frame`).

Profiles are reported only when there is profile structure: when the selected
solution has more than one profile and, if stability was checked, its mean
bootstrap ARI is at least :data:`MIN_STABILITY_ARI`. Otherwise the outcome is
``"no profile structure"``: no profiles, no assignments, no team profile mixes
(the fitted model stays available as ``profile_fit`` with its fit table).

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
from analytics.profiles import ProfileModel, StabilityResult, profile_stability, score_resolution
from analytics.reliability import reliability as reliability_table
from analytics.scoring import DEFAULT_MIN_FRACTION, score_dimensions

__all__ = [
    "MIN_PROFILE_RESPONDENTS",
    "MIN_STABILITY_ARI",
    "NOT_FITTED",
    "NO_STRUCTURE",
    "PROFILES_FOUND",
    "RoundAnalysis",
    "analyze_round",
]

#: Fewest respondents with complete blocker scores for which profiles are fitted
#: (a mixture needs at least two rows).
MIN_PROFILE_RESPONDENTS = 2
#: The default model considers at most one profile per this many complete respondents
#: (and never more than 8): a small round cannot support many latent classes, and a
#: bootstrap resample of it may hold fewer distinct people than profiles.
RESPONDENTS_PER_PROFILE = 10
MAX_PROFILES = 8
#: Profiles whose mean bootstrap adjusted Rand index (:func:`profile_stability`)
#: is below this are not reported: "no profile structure".
MIN_STABILITY_ARI = 0.6
#: Values of :attr:`RoundAnalysis.profile_outcome`.
PROFILES_FOUND = "profiles"
NO_STRUCTURE = "no profile structure"
NOT_FITTED = "not fitted"


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
        The profile model whose profiles are reported (blocker dimensions);
        ``None`` when no profiles are reported: fewer than
        :data:`MIN_PROFILE_RESPONDENTS` respondents have complete blocker
        scores, or there is no profile structure (see ``profile_outcome``).
    stability : StabilityResult or None
        Bootstrap stability of the fitted profiles; ``None`` when not computed.
    diagnosis : RoundDiagnosis
        Team diagnoses.
    assignments : pandas.Series
        Most likely profile per respondent (``NA`` when unassigned).
    respondents : pandas.Series
        Respondent id per row (the ``respondent`` column, else the index).
    teams : pandas.Series
        Team per row.
    profile_fit : ProfileModel or None
        The fitted profile model whether or not its profiles are reported (its
        ``fit_table_`` shows every candidate); ``None`` when not fitted.
    profile_outcome : str
        :data:`PROFILES_FOUND`, :data:`NO_STRUCTURE` (one profile fits best, or
        the profiles are unstable) or :data:`NOT_FITTED`.
    profile_reason : str
        Why, in one sentence ("" when profiles were found).
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
    profile_fit: ProfileModel | None = None
    profile_outcome: str = NOT_FITTED
    profile_reason: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        """The whole analysis as JSON-safe data (``json.dumps(..., allow_nan=False)`` works).

        A suppressed team appears only as ``{"n": ..., "suppressed": true}``.
        ``profiles`` is None when no profile model was fitted; otherwise it has
        the ``outcome`` (``"profiles"`` or ``"no profile structure"``) and its
        ``reason``, ``k`` (profiles reported: 0 without structure) and
        ``selected_k`` (the criterion's choice), the ``criterion``, the best
        ``bic`` and ``icl`` per k, the reported profiles' ``names``, ``sizes``
        and ``centroids`` (empty without structure), the stability, the model's
        ``warnings`` and the whole ``fit_table``.
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
        model = self.profile_fit if self.profile_fit is not None else self.profile_model
        if model is None:
            return None
        stability = self.stability
        table = model.fit_table_
        found = self.profile_outcome == PROFILES_FOUND
        per_k = table.groupby("k")
        sizes = model.sizes_ if found else pd.Series(dtype=int)
        centroids = model.centroids_ if found else pd.DataFrame()
        return {
            "outcome": self.profile_outcome,
            "reason": self.profile_reason or None,
            "method": model.method,
            "criterion": model.criterion if model.method == "gmm" else "silhouette",
            "k": int(model.k_) if found else 0,  # profiles reported
            "selected_k": int(model.k_),
            "names": [str(name) for name in model.names_] if found else [],
            "bic": {str(int(k)): json_number(v) for k, v in per_k["bic"].min().items()},
            "icl": {str(int(k)): json_number(v) for k, v in per_k["icl"].min().items()},
            "sizes": {str(name): int(size) for name, size in sizes.items()},
            "centroids": {
                str(name): {str(dim): json_number(v) for dim, v in row.items()}
                for name, row in centroids.iterrows()
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
    blocker_ids = [dim.id for dim in blocker_dims]
    blockers = scores[blocker_ids]
    model, stability, probabilities = None, None, None
    outcome, reason = NOT_FITTED, ""
    assignments = pd.Series(pd.NA, index=data.index, dtype=object, name="profile")
    n_complete = int(blockers.notna().all(axis=1).sum())
    if n_complete < MIN_PROFILE_RESPONDENTS:
        report(f"Skipping profiles: only {n_complete} respondents have every blocker score")
        reason = f"only {n_complete} respondents have every blocker score"
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
                # The variance floor from the instrument: means of m answers move in 1/m steps.
                steps = score_resolution(instrument, blocker_ids, data, min_fraction=min_fraction)
                model.fit(blockers, resolution=steps)
            if stability_boot > 0 and len(model.names_) > 1:
                report(f"Checking profile stability ({stability_boot} resamples)")
                stability = profile_stability(
                    model, blockers, n_boot=stability_boot, random_state=random_state
                )
            outcome, reason = _profile_outcome(model, stability)
            if outcome == PROFILES_FOUND:
                probabilities = model.predict_proba(blockers)
                assignments = model.predict(blockers)
            else:
                report(f"No profile structure: {reason}")

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
        profile_model=model if outcome == PROFILES_FOUND else None,
        stability=stability,
        diagnosis=diagnosis,
        assignments=assignments,
        respondents=pd.Series(respondents.to_numpy(), index=data.index, name="respondent"),
        teams=data[team_col],
        profile_fit=model,
        profile_outcome=outcome,
        profile_reason=reason,
    )


def _profile_outcome(model: ProfileModel, stability: StabilityResult | None) -> tuple[str, str]:
    """:data:`PROFILES_FOUND` or :data:`NO_STRUCTURE`, and why not."""
    if model.k_ == 1:
        return NO_STRUCTURE, ("one profile fits best: respondents differ in degree, not in kind")
    if stability is not None:
        ari = stability.mean_ari
        if not ari >= MIN_STABILITY_ARI:  # NaN too: no resample could be refitted
            shown = "not computable" if np.isnan(ari) else f"{ari:.2f}"
            return NO_STRUCTURE, (
                f"the {model.k_} profiles are not stable (mean bootstrap ARI {shown} < "
                f"{MIN_STABILITY_ARI})"
            )
    return PROFILES_FOUND, ""


def _reliability_dict(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(dim): {
            "alpha": json_number(row["alpha"]),
            **{
                key: json_number(row[key])
                for key in ("alpha_ci_low", "alpha_ci_high", "omega")
                if key in row.index
            },
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
