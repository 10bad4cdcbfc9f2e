"""Team diagnosis: which blockers hold each team back, and which plays to practise.

:func:`diagnose_round` turns a wide frame of answers (one row per respondent, a
team column, one column per item) into a :class:`RoundDiagnosis`: org-level
reference statistics and one :class:`TeamDiagnosis` per team. What the report
*says* (names, sentences, checklist lines, plays) comes from the advice file
(:mod:`analytics.advice`); this module only decides which of it applies.

Rules, in the order they are applied
------------------------------------
Anonymity
    A team with fewer than ``threshold`` respondents is *suppressed*: only its
    name and size are kept, nothing about its answers is computed. Within a
    shown team, a dimension scored for fewer than ``threshold`` members is
    *withheld* (skipped items can leave too few scores).
Org reference ("the org")
    Per dimension, the individual scores behind shown team results, plus the
    scores of everyone else (suppressed teams, respondents without a team,
    withheld dimensions) *only if* that remainder is empty or has at least
    ``threshold`` scores. Otherwise a suppressed team's mean could be recovered
    by differencing the org mean with the shown team means.
Percentile
    The team mean placed among the org's individual scores
    (:func:`analytics.norms.percentile_rank`, mid-rank, 0-100).
Prevalence
    Share of the team's scored members at or above the prevalence threshold:
    by default the scale point three quarters of the way up the dimension's
    scale, ``min + 0.75 * (max - min)`` - "Agree" (4) on the 1-5 agreement
    scale, "Often" (4) on the 1-5 frequency scale. ``blocker_threshold``
    overrides it for blocker dimensions.
Disagreeing
    The team's standard deviation is in the top quartile of the shown teams'
    standard deviations for that dimension (at or above their 75th
    percentile). ``None`` when fewer than :data:`MIN_TEAMS_FOR_SPREAD` teams
    can be compared, because with two or three teams one of them is always
    "in the top quartile".
Severity (blockers only, descriptive)
    ``(percentile / 100 + prevalence) / 2``, from 0 to 1: half relative
    standing in the org, half absolute share of members who agree. It no
    longer decides anything: a team's percentile and prevalence move with one
    member in a small team.
Flags (blockers only)
    :mod:`analytics.flags`: a blocker is a *main* blocker only when the team's
    difference from the org is credible, with the false-discovery rate
    controlled at :data:`analytics.flags.FLAG_FDR` across every team x
    blocker of the round, and the printed 95% interval lies above the printed
    org median; it is *tentative* in a team under
    :data:`analytics.coarsen.SMALL_GROUP` members or when one member makes it.
    Strengths are flagged the same way below the org. The team's blockers are
    *ranked* flagged first, then by the evidence that they stand out beyond the
    team's profile mix (with ``profiles``; otherwise by the plain difference).
Top blockers
    The flagged blockers (main, then tentative) in ranking order, at most
    :data:`MAX_TOP_BLOCKERS`.
Strengths
    Blockers flagged as strengths, the most credible first.
Summary
    The first top blocker's summary sentence (a tentative one: the advice
    file's ``wording.tentative_summary`` and why it is tentative); with no top
    blocker, ``wording.no_blocker``, naming the blocker ranked first when it is
    above the org mean (``wording.leading``).
Pillars
    Level from the same flags that name the main blockers: "at risk" when one
    of its blockers is flagged (tentative when only tentative flags make it),
    "strong" when every rated blocker of it is a strength, "mixed" otherwise.
    The mean percentile of its blockers is kept as a description.
Practice gaps
    A top blocker and one of its countering plays whose practice mean, as
    printed (one decimal), reads as a scale point below the middle one
    ("Rarely" or "Never" on 1-5: below 2.5), the rule
    :func:`analytics.coarsen.scale_label` uses to word it.
Recommended plays
    The plays countering the top blockers, deduplicated, ordered by how many
    top blockers they address, then practice gap first, then the order the
    advice file lists them under the (highest first) blockers. The plays to
    practise first are the first two that the team does not already use
    regularly (practice mean read as "Often" or more, three quarters up the
    scale).
Profile mix
    Expected members per profile (summed posterior probabilities). Shown when
    every profile has an expected count >= ``threshold`` and the members'
    most likely profiles are not all the same. Otherwise the smallest profiles
    are merged into "Other profiles" until that group reaches ``threshold``
    (merging a larger profile too if the small ones alone do not reach it)
    while at least one named profile remains; if that fails the mix is
    withheld with a reason.

Examples
--------
>>> from analytics.instrument_parser import load_default_instrument
>>> from analytics.synthetic import simulate_responses
>>> instrument = load_default_instrument()
>>> sim = simulate_responses(instrument, n_respondents=60, teams=4, random_state=0)
>>> result = diagnose_round(sim.data, instrument)
>>> sorted(result.teams)
['team-01', 'team-02', 'team-03', 'team-04']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analytics.advice import Advice, BlockerAdvice, fill_sentence, load_advice
from analytics.coarsen import SMALL_GROUP, display_round_or_none, scale_point
from analytics.flags import (
    FLAG_FDR,
    BlockerFlag,
    BlockerReference,
    CellStats,
    TeamFlags,
    flag_round,
)
from analytics.instrument import Dimension, Instrument, ResponseScale
from analytics.norms import percentile_rank
from analytics.scoring import DEFAULT_MIN_FRACTION, score_dimensions

__all__ = [
    "MAX_TOP_BLOCKERS",
    "MIN_TEAMS_FOR_SPREAD",
    "OTHER_PROFILES",
    "BlockerFlag",
    "DimensionFinding",
    "OrgDimension",
    "PillarSummary",
    "PracticeGap",
    "ProfileMix",
    "RecommendedPlay",
    "RoundDiagnosis",
    "TeamDiagnosis",
    "diagnose_round",
    "json_number",
]

MAX_TOP_BLOCKERS = 3
MIN_TEAMS_FOR_SPREAD = 4
OTHER_PROFILES = "Other profiles"
CONFIDENCE = 0.95


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class DimensionFinding:
    """One team's result on one dimension (all statistics ``None`` when withheld)."""

    dimension: str
    kind: str | None
    n_scored: int
    withheld: bool
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    sd: float | None = None
    percentile: float | None = None
    prevalence: float | None = None
    n_prevalent: int | None = None
    disagreeing: bool | None = None
    severity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; a withheld dimension gives only ``{"withheld": true}``."""
        if self.withheld:
            return {"withheld": True}
        ci = None
        if self.ci_low is not None and self.ci_high is not None:
            ci = [json_number(self.ci_low), json_number(self.ci_high)]
        return {
            "n": self.n_scored,
            "mean": json_number(self.mean),
            "ci": ci,
            "sd": json_number(self.sd),
            "percentile": json_number(self.percentile),
            "prevalence": json_number(self.prevalence),
            "n_prevalent": self.n_prevalent,
            "disagreeing": self.disagreeing,
            "severity": json_number(self.severity),
            "withheld": False,
        }


@dataclass(frozen=True)
class PillarSummary:
    """A pillar's standing for one team."""

    id: str
    name: str
    description: str
    blockers: tuple[str, ...]
    percentile: float | None
    level: str | None
    tentative: bool = False
    flagged: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "name": self.name,
            "description": self.description,
            "blockers": list(self.blockers),
            "percentile": json_number(self.percentile),
            "level": self.level,
            "tentative": self.tentative,
            "flagged": list(self.flagged),
        }


@dataclass(frozen=True)
class PracticeGap:
    """A top blocker whose countering play the team rarely uses."""

    blocker: str
    play: str
    practice_mean: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "blocker": self.blocker,
            "play": self.play,
            "practice_mean": json_number(self.practice_mean),
        }


@dataclass(frozen=True)
class RecommendedPlay:
    """A play recommended to a team, with the advice to discuss it."""

    id: str
    name: str
    rationale: str
    questions: tuple[str, ...]
    addresses: tuple[str, ...]
    practice_mean: float | None
    practice_gap: bool
    in_regular_use: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "id": self.id,
            "name": self.name,
            "rationale": self.rationale,
            "questions": list(self.questions),
            "addresses": list(self.addresses),
            "practice_mean": json_number(self.practice_mean),
            "practice_gap": self.practice_gap,
            "in_regular_use": self.in_regular_use,
        }


@dataclass(frozen=True)
class ProfileMix:
    """Expected members per profile, or why the mix is withheld.

    ``counts`` is empty when withheld; ``merged`` names the profiles folded
    into :data:`OTHER_PROFILES`.
    """

    shown: bool
    n_assigned: int
    counts: Mapping[str, float] = field(default_factory=_frozen)
    merged: tuple[str, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "shown": self.shown,
            "n_assigned": self.n_assigned,
            "counts": {k: json_number(v) for k, v in self.counts.items()},
            "merged": list(self.merged),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TeamDiagnosis:
    """Everything the report says about one team.

    For a suppressed team only ``name``, ``n`` and ``suppressed`` are set; every
    other field is ``None`` or empty.
    """

    name: str
    n: int
    suppressed: bool
    invited: int | None = None
    response_rate: float | None = None
    dimensions: Mapping[str, DimensionFinding] = field(default_factory=_frozen)
    top_blockers: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ()
    summary: str | None = None
    strength_sentences: tuple[str, ...] = ()
    checklist: tuple[tuple[str, str], ...] = ()
    pillars: tuple[PillarSummary, ...] = ()
    practice_gaps: tuple[PracticeGap, ...] = ()
    recommended_plays: tuple[RecommendedPlay, ...] = ()
    profile_mix: ProfileMix | None = None
    flags: Mapping[str, BlockerFlag] = field(default_factory=_frozen)
    ranking: tuple[str, ...] = ()

    @property
    def plays_to_practise_first(self) -> tuple[RecommendedPlay, ...]:
        """The first two recommended plays the team does not already use regularly."""
        return tuple(p for p in self.recommended_plays if not p.in_regular_use)[:2]

    @property
    def main_blockers(self) -> tuple[str, ...]:
        """Top blockers flagged "main" (not tentative)."""
        return tuple(b for b in self.top_blockers if self.flags[b].level == "main")

    def flag(self, blocker: str) -> BlockerFlag | None:
        """The flag verdict on a blocker, ``None`` when it was not rated."""
        return self.flags.get(blocker)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; a suppressed team gives only ``n`` and ``suppressed``."""
        if self.suppressed:
            return {"n": self.n, "suppressed": True}
        return {
            "n": self.n,
            "suppressed": False,
            "invited": self.invited,
            "response_rate": json_number(self.response_rate),
            "dimensions": {k: v.to_dict() for k, v in self.dimensions.items()},
            "top_blockers": list(self.top_blockers),
            "strengths": list(self.strengths),
            "summary": self.summary,
            "strength_sentences": list(self.strength_sentences),
            "checklist": [{"heading": h, "line": line} for h, line in self.checklist],
            "pillars": {p.id: p.to_dict() for p in self.pillars},
            "practice_gaps": [g.to_dict() for g in self.practice_gaps],
            "recommended_plays": [p.to_dict() for p in self.recommended_plays],
            "plays_to_practise_first": [p.id for p in self.plays_to_practise_first],
            "profile_mix": None if self.profile_mix is None else self.profile_mix.to_dict(),
            "flags": {k: v.to_dict() for k, v in self.flags.items()},
            "ranking": list(self.ranking),
        }


@dataclass(frozen=True)
class OrgDimension:
    """Org-level reference statistics and thresholds for one dimension.

    ``includes_unshown`` tells whether scores outside the shown team results
    are part of the reference (see the module notes on differencing).
    ``median`` (the line the blocker chart draws) and ``pooled_sd`` (the pooled
    within-team standard deviation the flags use) are not in :meth:`to_dict`.
    """

    id: str
    name: str
    kind: str | None
    n_scored: int
    mean: float | None
    sd: float | None
    includes_unshown: bool
    prevalence_threshold: float
    spread_threshold: float | None
    practice_gap_threshold: float | None
    median: float | None = None
    pooled_sd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "n": self.n_scored,
            "mean": json_number(self.mean),
            "sd": json_number(self.sd),
            "includes_unshown": self.includes_unshown,
            "prevalence_threshold": json_number(self.prevalence_threshold),
            "spread_threshold": json_number(self.spread_threshold),
            "practice_gap_threshold": json_number(self.practice_gap_threshold),
        }


@dataclass(frozen=True)
class RoundDiagnosis:
    """The diagnosis of a whole round: org reference and one entry per team."""

    instrument_id: str
    instrument_version: int
    n_respondents: int
    threshold: int
    org: Mapping[str, OrgDimension]
    teams: Mapping[str, TeamDiagnosis]
    flag_fdr: float = FLAG_FDR
    tentative_below: int = SMALL_GROUP

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no NaN; missing values are ``None``)."""
        return {
            "instrument": {"id": self.instrument_id, "version": self.instrument_version},
            "n_respondents": self.n_respondents,
            "anonymity_threshold": self.threshold,
            "thresholds": {"flag_fdr": self.flag_fdr, "tentative_below": self.tentative_below},
            "org": {k: v.to_dict() for k, v in self.org.items()},
            "teams": {k: v.to_dict() for k, v in self.teams.items()},
        }


def json_number(value: Any) -> float | None:
    """A float for JSON: ``None`` for missing, NaN or infinite values.

    Examples
    --------
    >>> json_number(np.float64(2.5)), json_number(float("nan")), json_number(None)
    (2.5, None, None)
    """
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def diagnose_round(
    data: pd.DataFrame,
    instrument: Instrument,
    *,
    team_col: str = "team",
    threshold: int = 5,
    invited: Mapping[str, int] | None = None,
    profiles: pd.DataFrame | None = None,
    blocker_threshold: float | None = None,
    advice: Advice | None = None,
    min_fraction: float = DEFAULT_MIN_FRACTION,
    scores: pd.DataFrame | None = None,
) -> RoundDiagnosis:
    """Diagnose every team of a survey round (rules in the module docstring).

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame: a team column and one column per item id (``NaN`` = skipped).
    instrument : Instrument
        The questionnaire answered.
    team_col : str, default "team"
        Column holding team names; rows with no team count towards
        ``n_respondents`` only.
    threshold : int, default 5
        Anonymity threshold: smallest group whose results are shown.
    invited : mapping of str to int, optional
        People invited per team, for response rates. Invited teams without any
        respondent appear as suppressed teams with ``n = 0``.
    profiles : pandas.DataFrame, optional
        Posterior profile probabilities (``ProfileModel.predict_proba``), index
        aligned with ``data``, one column per profile, ``NaN`` rows for
        unassigned respondents. Without it ``profile_mix`` is ``None``.
    blocker_threshold : float, optional
        Score at or above which a member counts as having a blocker; default
        three quarters up the scale ("Agree" = 4 on 1-5).
    advice : Advice, optional
        Advice framework; :func:`analytics.advice.load_advice` by default.
    min_fraction : float, default 2/3
        Passed to :func:`analytics.scoring.score_dimensions`.
    scores : pandas.DataFrame, optional
        Precomputed dimension scores (same index as ``data``) to avoid scoring
        twice.

    Returns
    -------
    RoundDiagnosis

    Examples
    --------
    >>> from analytics.instrument_parser import load_default_instrument
    >>> from analytics.synthetic import simulate_responses
    >>> instrument = load_default_instrument()
    >>> sim = simulate_responses(
    ...     instrument, n_respondents=43, teams={"a": 20, "b": 20, "c": 3}, random_state=1
    ... )
    >>> result = diagnose_round(sim.data, instrument)
    >>> result.teams["c"].to_dict()
    {'n': 3, 'suppressed': True}
    """
    if team_col not in data.columns:
        raise KeyError(f"the data has no team column {team_col!r}; pass team_col=...")
    if int(threshold) != threshold or threshold < 1:
        raise ValueError(f"threshold must be a positive integer, got {threshold!r}")
    threshold = int(threshold)
    advice = advice if advice is not None else load_advice()
    if scores is None:
        scores = score_dimensions(data, instrument, min_fraction=min_fraction)
    elif not scores.index.equals(data.index):
        raise ValueError("scores must have the same index as data")

    kinds = _dimension_kinds(instrument)
    prevalence_at = {
        dim.id: _prevalence_threshold(dim, instrument, kinds[dim.id], blocker_threshold)
        for dim in instrument.dimensions
    }
    invited_by_team = {str(team): int(count) for team, count in (invited or {}).items()}
    teams = _team_labels(data[team_col])
    sizes = teams.value_counts(dropna=True)
    names = list(dict.fromkeys([*sorted(sizes.index), *invited_by_team]))
    shown = [t for t in names if int(sizes.get(t, 0)) >= threshold]

    codes = pd.Index(shown, dtype=object).get_indexer(teams.to_numpy(dtype=object))
    basics = _basic_findings(instrument, scores, codes, shown, kinds, prevalence_at, threshold)
    references = _references(instrument, scores, codes, basics, threshold)
    org = _org_dimensions(instrument, references, basics, kinds, prevalence_at, advice)
    percentiles = _percentiles(instrument, references, basics)
    mixes = _profile_mixes(profiles, data.index, codes, shown, threshold)
    team_flags = _flags(instrument, scores, codes, shown, basics, references, org, profiles)

    results: dict[str, TeamDiagnosis] = {}
    for team in names:
        n = int(sizes.get(team, 0))
        if team not in basics:
            results[team] = TeamDiagnosis(name=team, n=n, suppressed=True)
            continue
        findings = {
            dim_id: _complete_finding(finding, percentiles[dim_id].get(team), org[dim_id])
            for dim_id, finding in basics[team].items()
        }
        results[team] = _team_diagnosis(
            team,
            n,
            invited_by_team.get(team),
            findings,
            instrument,
            org,
            advice,
            None if mixes is None else mixes[team],
            team_flags.get(team, TeamFlags()),
        )
    return RoundDiagnosis(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        n_respondents=len(data),
        threshold=threshold,
        org=_frozen(org),
        teams=_frozen(results),
    )


def _dimension_kinds(instrument: Instrument) -> dict[str, str | None]:
    blockers = {dim.id for dim in instrument.blocker_dimensions}
    practices = {dim.id for dim in instrument.practice_dimensions}
    return {
        dim.id: "blocker" if dim.id in blockers else "practice" if dim.id in practices else None
        for dim in instrument.dimensions
    }


def _scale(dim: Dimension, instrument: Instrument) -> ResponseScale:
    return dim.response_scale or instrument.response_scale


def _prevalence_threshold(
    dim: Dimension, instrument: Instrument, kind: str | None, blocker_threshold: float | None
) -> float:
    if kind == "blocker" and blocker_threshold is not None:
        return float(blocker_threshold)
    scale = _scale(dim, instrument)
    return scale.min + 0.75 * (scale.max - scale.min)


def _team_labels(column: pd.Series) -> pd.Series:
    """Team names as strings, ``NaN`` kept for rows without a team."""
    labels = column.astype(object).where(column.notna(), None)
    return pd.Series(
        [None if v is None else str(v) for v in labels], index=column.index, dtype=object
    )


def _segments(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Offsets of each group's run in an array sorted by group number (``n_groups + 1``)."""
    return np.concatenate(([0], np.cumsum(np.bincount(group, minlength=n_groups))))


def _rows_by_team(codes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Positions of the kept rows of shown teams, team by team, in data order within a team."""
    positions = np.flatnonzero(keep & (codes >= 0))
    return positions[np.argsort(codes[positions], kind="stable")]


def _basic_findings(
    instrument: Instrument,
    scores: pd.DataFrame,
    codes: np.ndarray,
    shown: list[str],
    kinds: Mapping[str, str | None],
    prevalence_at: Mapping[str, float],
    threshold: int,
) -> dict[str, dict[str, DimensionFinding]]:
    """Per shown team and dimension, the statistics that do not need the org reference.

    ``codes`` gives each row's position in ``shown`` (-1 for rows of no shown team).
    Each team's scores are grouped once, keeping data order, so every statistic is
    computed on exactly the values (and in the order) a per-team selection would give.
    """
    basics: dict[str, dict[str, DimensionFinding]] = {team: {} for team in shown}
    for dim in instrument.dimensions:
        column = scores[dim.id].to_numpy(dtype="float64", na_value=np.nan)
        rows = _rows_by_team(codes, ~np.isnan(column))
        values, group = column[rows], codes[rows]
        bounds = _segments(group, len(shown))
        counts = np.diff(bounds)
        prevalent = np.bincount(group[values >= prevalence_at[dim.id]], minlength=len(shown))
        dfs = np.unique(counts[counts >= max(threshold, 2)] - 1)
        t_quantiles = dict(zip(dfs.tolist(), stats.t.ppf(0.5 + CONFIDENCE / 2, dfs), strict=True))
        for i, team in enumerate(shown):
            basics[team][dim.id] = _basic_finding(
                values[bounds[i] : bounds[i + 1]],
                int(prevalent[i]),
                t_quantiles,
                dim.id,
                kinds[dim.id],
                threshold,
            )
    return basics


def _basic_finding(
    scored: np.ndarray,
    n_prevalent: int,
    t_quantiles: Mapping[int, float],
    dim_id: str,
    kind: str | None,
    threshold: int,
) -> DimensionFinding:
    """Team statistics that do not need the org reference.

    ``scored`` holds the team's non-missing scores, ``t_quantiles`` the two-sided
    Student t quantile for :data:`CONFIDENCE` by degrees of freedom.
    """
    n = int(scored.size)
    if n < threshold:
        return DimensionFinding(dimension=dim_id, kind=kind, n_scored=n, withheld=True)
    mean = float(scored.mean())
    sd = float(scored.std(ddof=1)) if n >= 2 else None
    ci_low = ci_high = None
    if sd is not None:
        half = t_quantiles[n - 1] * sd / math.sqrt(n)
        ci_low, ci_high = mean - half, mean + half
    return DimensionFinding(
        dimension=dim_id,
        kind=kind,
        n_scored=n,
        withheld=False,
        mean=mean,
        ci_low=ci_low,
        ci_high=ci_high,
        sd=sd,
        prevalence=n_prevalent / n,
        n_prevalent=n_prevalent,
    )


def _references(
    instrument: Instrument,
    scores: pd.DataFrame,
    codes: np.ndarray,
    basics: Mapping[str, Mapping[str, DimensionFinding]],
    threshold: int,
) -> dict[str, tuple[np.ndarray, bool, np.ndarray]]:
    """Per dimension, the individual scores that make up "the org".

    Returns the scores, whether scores outside shown team results are among
    them, and which rows they are (a boolean mask over ``scores``).
    """
    references = {}
    for dim in instrument.dimensions:
        column = scores[dim.id]
        # Rows whose score feeds a shown team result; the trailing False serves code -1.
        feeds = np.array([not f[dim.id].withheld for f in basics.values()] + [False])
        mask = feeds[codes]
        rest = column[~mask].dropna()
        include_rest = not rest.empty and len(rest) >= threshold
        rows = (
            np.ones(len(column), dtype=bool) if include_rest else mask
        ) & column.notna().to_numpy()
        references[dim.id] = (column.to_numpy(dtype="float64")[rows], include_rest, rows)
    return references


def _percentiles(
    instrument: Instrument,
    references: Mapping[str, tuple[np.ndarray, bool, np.ndarray]],
    basics: Mapping[str, Mapping[str, DimensionFinding]],
) -> dict[str, dict[str, float | None]]:
    """Per dimension, each shown team's mean placed in the org reference (one sort each)."""
    result = {}
    for dim in instrument.dimensions:
        rated = [t for t, f in basics.items() if not f[dim.id].withheld]
        means = np.array([basics[t][dim.id].mean for t in rated], dtype="float64")
        ranks = percentile_rank(means, references[dim.id][0]) if rated else []
        result[dim.id] = {t: json_number(r) for t, r in zip(rated, ranks, strict=True)}
    return result


def _org_dimensions(
    instrument: Instrument,
    references: Mapping[str, tuple[np.ndarray, bool, np.ndarray]],
    basics: Mapping[str, Mapping[str, DimensionFinding]],
    kinds: Mapping[str, str | None],
    prevalence_at: Mapping[str, float],
    advice: Advice,
) -> dict[str, OrgDimension]:
    org = {}
    for dim in instrument.dimensions:
        ref, includes_unshown, _ = references[dim.id]
        team_sds = [
            f[dim.id].sd
            for f in basics.values()
            if not f[dim.id].withheld and f[dim.id].sd is not None
        ]
        rated = [f[dim.id] for f in basics.values() if not f[dim.id].withheld]
        df = sum(f.n_scored - 1 for f in rated if f.sd is not None)
        pooled = (
            math.sqrt(sum((f.n_scored - 1) * f.sd**2 for f in rated if f.sd is not None) / df)
            if df > 0
            else None
        )
        spread = (
            float(np.quantile(team_sds, 0.75)) if len(team_sds) >= MIN_TEAMS_FOR_SPREAD else None
        )
        scale = _scale(dim, instrument)
        org[dim.id] = OrgDimension(
            id=dim.id,
            name=_display_name(dim, kinds[dim.id], advice),
            kind=kinds[dim.id],
            n_scored=int(ref.size),
            mean=float(ref.mean()) if ref.size else None,
            sd=float(ref.std(ddof=1)) if ref.size >= 2 else None,
            includes_unshown=includes_unshown,
            prevalence_threshold=prevalence_at[dim.id],
            spread_threshold=spread,
            practice_gap_threshold=(
                _middle_point(scale) - 0.5 if kinds[dim.id] == "practice" else None
            ),
            median=float(np.median(ref)) if ref.size else None,
            pooled_sd=pooled,
        )
    return org


def _middle_point(scale: ResponseScale) -> int:
    """The middle point of a scale, the upper one of two ("Sometimes", 3, on 1-5)."""
    return math.ceil((scale.min + scale.max) / 2)


def _display_name(dim: Dimension, kind: str | None, advice: Advice) -> str:
    """The advice file's name of a blocker or play, else the instrument's name.

    The advice file is the one source of names: the report's text, its charts
    and the dashboard all show this one.
    """
    if kind == "blocker":
        found = advice.blocker(dim.id)
        return found.name if found is not None else dim.name
    if kind == "practice":
        play = advice.play(dim.id)
        return play.name if play is not None else dim.name
    return dim.name


def _complete_finding(
    finding: DimensionFinding, percentile: float | None, org: OrgDimension
) -> DimensionFinding:
    """Add the statistics that compare the team with the org (``percentile`` from the org)."""
    if finding.withheld:
        return finding
    disagreeing = None
    if org.spread_threshold is not None and finding.sd is not None:
        disagreeing = bool(finding.sd >= org.spread_threshold)
    severity = None
    if finding.kind == "blocker" and percentile is not None and finding.prevalence is not None:
        severity = (percentile / 100 + finding.prevalence) / 2
    return DimensionFinding(
        dimension=finding.dimension,
        kind=finding.kind,
        n_scored=finding.n_scored,
        withheld=False,
        mean=finding.mean,
        ci_low=finding.ci_low,
        ci_high=finding.ci_high,
        sd=finding.sd,
        percentile=percentile,
        prevalence=finding.prevalence,
        n_prevalent=finding.n_prevalent,
        disagreeing=disagreeing,
        severity=severity,
    )


def _team_diagnosis(
    team: str,
    n: int,
    invited: int | None,
    findings: Mapping[str, DimensionFinding],
    instrument: Instrument,
    org: Mapping[str, OrgDimension],
    advice: Advice,
    profile_mix: ProfileMix | None,
    team_flags: TeamFlags,
) -> TeamDiagnosis:
    flags = team_flags.flags
    top_ids = team_flags.above[:MAX_TOP_BLOCKERS]
    low_ids = team_flags.strengths
    blocker_advice = {
        b: advice.blocker_or_generic(b, org[b].name) for b in team_flags.ranking if b in org
    }
    gaps = _practice_gaps(top_ids, blocker_advice, findings, org)
    return TeamDiagnosis(
        name=team,
        n=n,
        suppressed=False,
        invited=invited,
        response_rate=n / invited if invited else None,
        dimensions=_frozen(findings),
        top_blockers=top_ids,
        strengths=low_ids,
        summary=_summary(team_flags, findings, blocker_advice, advice),
        strength_sentences=tuple(
            _with_note(
                blocker_advice[b].strength_sentence(findings[b].n_prevalent, findings[b].n_scored),
                flags[b],
                findings[b],
                advice,
            )
            for b in low_ids
        ),
        checklist=_checklist(blocker_advice[top_ids[0]] if top_ids else None, advice),
        pillars=_pillars(findings, flags, advice),
        practice_gaps=gaps,
        recommended_plays=_recommended_plays(
            top_ids, blocker_advice, findings, org, advice, instrument
        ),
        profile_mix=profile_mix,
        flags=flags,
        ranking=team_flags.ranking,
    )


def _with_note(sentence: str, flag: BlockerFlag, finding: DimensionFinding, advice: Advice) -> str:
    """A sentence about a flagged blocker, with why it is tentative when it is."""
    if not flag.tentative:
        return sentence
    return f"{sentence} {advice.wording.tentative_note(finding.n_scored, flag.fragile)}"


def _summary(
    team_flags: TeamFlags,
    findings: Mapping[str, DimensionFinding],
    blocker_advice: Mapping[str, BlockerAdvice],
    advice: Advice,
) -> str | None:
    """The summary sentence: the first top blocker, or that none stands out."""
    wording = advice.wording
    if not team_flags.ranking:
        return None
    top = team_flags.above
    if top:
        first, finding = top[0], findings[top[0]]
        flag = team_flags.flags[first]
        if flag.level == "main":
            return blocker_advice[first].summary_sentence(finding.n_prevalent, finding.n_scored)
        sentence = fill_sentence(
            wording.tentative_summary,
            blocker_advice[first],
            finding.n_prevalent or 0,
            finding.n_scored,
        )
        return _with_note(sentence, flag, finding, advice)
    leading = team_flags.flags[team_flags.ranking[0]]
    if leading.estimate > 0:
        name = blocker_advice[leading.dimension].name
        return f"{wording.no_blocker} {wording.leading.format(name=name)}"
    return wording.no_blocker


def _checklist(top: BlockerAdvice | None, advice: Advice) -> tuple[tuple[str, str], ...]:
    """The top blocker's checklist lines, else the generic lines, with topic headings."""
    lines = dict(top.checklist) if top is not None and top.checklist else {}
    lines = lines or dict(advice.default_blocker.checklist)
    return tuple((t.heading, lines[t.id]) for t in advice.checklist_topics if t.id in lines)


def pillar_level(
    flags: Mapping[str, BlockerFlag], blockers: tuple[str, ...]
) -> tuple[str | None, bool, tuple[str, ...]]:
    """A pillar's level from the flags of its blockers: the one rule behind every label.

    "at risk" when one of its blockers is flagged as holding the team back
    (tentative when only tentative flags make it), "strong" when every rated
    blocker of it is a strength, "mixed" otherwise, ``None`` when none is rated.

    Returns
    -------
    (str or None, bool, tuple of str)
        The level, whether it is tentative, and the blockers that decide it.
    """
    rated = [flags[b] for b in blockers if b in flags]
    if not rated:
        return None, False, ()
    above = [f for f in rated if f.above]
    if above:
        return (
            "at risk",
            all(f.level == "tentative" for f in above),
            tuple(f.dimension for f in above),
        )
    if all(f.level == "strength" for f in rated):
        return "strong", any(f.tentative for f in rated), tuple(f.dimension for f in rated)
    return "mixed", False, ()


def _pillars(
    findings: Mapping[str, DimensionFinding], flags: Mapping[str, BlockerFlag], advice: Advice
) -> tuple[PillarSummary, ...]:
    summaries = []
    for pillar in advice.pillars:
        present = tuple(b for b in pillar.blockers if b in findings)
        if not present:
            continue
        values = [findings[b].percentile for b in present if findings[b].percentile is not None]
        level, tentative, flagged = pillar_level(flags, present)
        summaries.append(
            PillarSummary(
                id=pillar.id,
                name=pillar.name,
                description=pillar.description,
                blockers=present,
                percentile=float(np.mean(values)) if values else None,
                level=level,
                tentative=tentative,
                flagged=flagged,
            )
        )
    return tuple(summaries)


def _practice_mean(play_id: str, findings: Mapping[str, DimensionFinding]) -> float | None:
    finding = findings.get(play_id)
    if finding is None or finding.kind != "practice" or finding.withheld:
        return None
    return finding.mean


def _is_gap(
    play_id: str, findings: Mapping[str, DimensionFinding], org: Mapping[str, OrgDimension]
) -> bool:
    """The practice mean, as printed, reads as a point below the scale's middle one."""
    mean = display_round_or_none(_practice_mean(play_id, findings))
    below = org[play_id].practice_gap_threshold if play_id in org else None
    return mean is not None and below is not None and mean < below


def _in_regular_use(
    play_id: str, findings: Mapping[str, DimensionFinding], instrument: Instrument
) -> bool:
    """The practice mean reads as "Often" or more: the point three quarters up the scale."""
    mean = _practice_mean(play_id, findings)
    if mean is None:
        return False
    scale = _scale(instrument.dimension(play_id), instrument)
    point = scale_point(mean, scale.min, scale.max)
    return point is not None and point >= scale.min + 0.75 * (scale.max - scale.min)


def _practice_gaps(
    top_ids: tuple[str, ...],
    blocker_advice: Mapping[str, BlockerAdvice],
    findings: Mapping[str, DimensionFinding],
    org: Mapping[str, OrgDimension],
) -> tuple[PracticeGap, ...]:
    return tuple(
        PracticeGap(blocker=b, play=p, practice_mean=float(_practice_mean(p, findings)))
        for b in top_ids
        for p in blocker_advice[b].plays
        if _is_gap(p, findings, org)
    )


def _recommended_plays(
    top_ids: tuple[str, ...],
    blocker_advice: Mapping[str, BlockerAdvice],
    findings: Mapping[str, DimensionFinding],
    org: Mapping[str, OrgDimension],
    advice: Advice,
    instrument: Instrument,
) -> tuple[RecommendedPlay, ...]:
    candidates = list(dict.fromkeys(p for b in top_ids for p in blocker_advice[b].plays))
    plays = []
    for play_id in candidates:
        play = advice.play(play_id)
        if play is None:
            continue
        plays.append(
            RecommendedPlay(
                id=play.id,
                name=play.name,
                rationale=play.rationale,
                questions=play.questions,
                addresses=tuple(b for b in top_ids if play_id in blocker_advice[b].plays),
                practice_mean=_practice_mean(play_id, findings),
                practice_gap=_is_gap(play_id, findings, org),
                in_regular_use=play_id in findings
                and _in_regular_use(play_id, findings, instrument),
            )
        )
    ranked = sorted(
        enumerate(plays), key=lambda ip: (-len(ip[1].addresses), not ip[1].practice_gap, ip[0])
    )
    return tuple(p for _, p in ranked)


# --- flags -------------------------------------------------------------------------------


def _flags(
    instrument: Instrument,
    scores: pd.DataFrame,
    codes: np.ndarray,
    shown: list[str],
    basics: Mapping[str, Mapping[str, DimensionFinding]],
    references: Mapping[str, tuple[np.ndarray, bool, np.ndarray]],
    org: Mapping[str, OrgDimension],
    profiles: pd.DataFrame | None,
) -> dict[str, TeamFlags]:
    """Every shown team's blocker flags and ranking (:func:`analytics.flags.flag_round`).

    The profile-adjusted residual of a member on a blocker is their score
    minus ``sum_c p_c * mu_c``: their posterior profile probabilities ``p``
    times each profile's mean score on the blocker, estimated from the org
    reference as probability-weighted means. Members without probabilities
    (and every member when ``profiles`` is ``None``) are compared with the
    org mean.
    """
    blockers = [dim.id for dim in instrument.blocker_dimensions]
    probabilities = _probabilities(profiles, scores.index)
    cells: dict[tuple[str, str], CellStats] = {}
    refs: dict[str, BlockerReference] = {}
    for blocker in blockers:
        finding_org = org[blocker]
        rated = [i for i, team in enumerate(shown) if not basics[team][blocker].withheld]
        if not rated or finding_org.mean is None or finding_org.median is None:
            continue
        values = scores[blocker].to_numpy(dtype="float64", na_value=np.nan)
        residual = values - _predicted(
            values, references[blocker][2], probabilities, finding_org.mean
        )
        keep = ~np.isnan(values) & (codes >= 0)
        keep &= np.isin(codes, rated)
        group = codes[keep]
        count = np.bincount(group, minlength=len(shown))
        resid_mean = np.bincount(group, weights=residual[keep], minlength=len(shown)) / np.maximum(
            count, 1
        )
        within = residual[keep] - resid_mean[group]
        df = int(count[rated].sum() - len(rated))
        adjusted_sd = math.sqrt(float(np.dot(within, within)) / df) if df > 0 else 0.0
        highest = np.full(len(shown), -np.inf)
        lowest = np.full(len(shown), np.inf)
        np.maximum.at(highest, group, values[keep])
        np.minimum.at(lowest, group, values[keep])
        refs[blocker] = BlockerReference(
            mean=finding_org.mean,
            median=finding_org.median,
            n=finding_org.n_scored,
            sd=finding_org.pooled_sd or 0.0,
            df=max(df, 1),
            adjusted_sd=adjusted_sd,
        )
        for i in rated:
            finding = basics[shown[i]][blocker]
            cells[(shown[i], blocker)] = CellStats(
                n=finding.n_scored,
                mean=float(finding.mean),
                ci_low=finding.ci_low,
                ci_high=finding.ci_high,
                highest=float(highest[i]),
                lowest=float(lowest[i]),
                adjusted=float(resid_mean[i]),
            )
    return flag_round(cells, refs, blockers)


def _probabilities(profiles: pd.DataFrame | None, index: pd.Index) -> np.ndarray | None:
    if profiles is None or profiles.shape[1] == 0:
        return None
    aligned = profiles if profiles.index.equals(index) else profiles.reindex(index)
    return aligned.to_numpy(dtype="float64", na_value=np.nan)


def _predicted(
    values: np.ndarray, reference: np.ndarray, probabilities: np.ndarray | None, org_mean: float
) -> np.ndarray:
    """Each member's expected score on a blocker given their profile probabilities."""
    predicted = np.full(values.shape, org_mean)
    if probabilities is None:
        return predicted
    assigned = ~np.isnan(probabilities).any(axis=1)
    fit = assigned & reference
    weights = probabilities[fit]
    totals = weights.sum(axis=0)
    means = np.divide(
        weights.T @ values[fit], totals, out=np.full(totals.shape, org_mean), where=totals > 0
    )
    predicted[assigned] = probabilities[assigned] @ means
    return predicted


def _profile_mixes(
    profiles: pd.DataFrame | None,
    index: pd.Index,
    codes: np.ndarray,
    shown: list[str],
    threshold: int,
) -> dict[str, ProfileMix] | None:
    """Every shown team's profile mix; ``codes`` as in :func:`_basic_findings`."""
    if profiles is None:
        return None
    probabilities = profiles if profiles.index.equals(index) else profiles.reindex(index)
    values = probabilities.to_numpy(dtype="float64", na_value=np.nan)
    rows = _rows_by_team(codes, ~np.isnan(values).any(axis=1))
    bounds = _segments(codes[rows], len(shown))
    assigned = values[rows]
    likeliest = assigned.argmax(axis=1) if assigned.shape[1] else np.zeros(len(rows), dtype=int)
    # One contiguous row per profile, so each team's expected count sums a contiguous run.
    by_profile = np.ascontiguousarray(assigned.T)
    labels = [str(name) for name in probabilities.columns]
    return {
        team: _profile_mix(
            by_profile[:, bounds[i] : bounds[i + 1]],
            likeliest[bounds[i] : bounds[i + 1]],
            labels,
            threshold,
        )
        for i, team in enumerate(shown)
    }


def _profile_mix(
    by_profile: np.ndarray, likeliest: np.ndarray, labels: list[str], threshold: int
) -> ProfileMix:
    """One team's profile mix under the anonymity rules of the module docstring.

    ``by_profile`` holds the posterior probabilities of the team's assigned members
    (one row per profile, one column per member), ``likeliest`` each member's most
    likely profile.
    """
    n_assigned = int(likeliest.size)
    if n_assigned < threshold:
        return ProfileMix(
            shown=False,
            n_assigned=n_assigned,
            reason=f"fewer than {threshold} members could be assigned a profile",
        )
    if bool(np.all(likeliest == likeliest[0])):
        return ProfileMix(
            shown=False,
            n_assigned=n_assigned,
            reason="every member is most likely in the same profile; showing the mix "
            "would reveal each person's profile",
        )
    sums = np.add.reduce(by_profile, axis=1)
    # Largest first; ties keep the column order (a stable sort).
    expected = dict(sorted(zip(labels, sums, strict=True), key=lambda item: -item[1]))

    def total(names: list[str]) -> float:
        return float(np.add.reduce(np.array([expected[name] for name in names], dtype="float64")))

    large = [name for name, count in expected.items() if count >= threshold]
    small = [name for name, count in expected.items() if count < threshold]
    if small:
        other = total(small)
        # Merge the smallest named profiles as well when the small ones alone stay under
        # the threshold, as long as one named profile is left to contrast with.
        while other < threshold and len(large) > 1:
            small.insert(0, large.pop())
            other += float(expected[small[0]])
        if other < threshold or not large:
            return ProfileMix(
                shown=False,
                n_assigned=n_assigned,
                reason=f"the profile groups would be smaller than {threshold} members, "
                "even after merging the small ones",
            )
    counts = {name: float(expected[name]) for name in large}
    if small:
        counts[OTHER_PROFILES] = total(small)
    return ProfileMix(
        shown=True,
        n_assigned=n_assigned,
        counts=_frozen(counts),
        merged=tuple(sorted(small, key=lambda name: -float(expected[name]))),
    )
