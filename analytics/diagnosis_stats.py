"""The statistics of a diagnosis: team findings, the organization reference, flags.

Per shown team and dimension the mean, interval, spread, prevalence and
percentile; per dimension the organization reference (see the differencing
rule in :mod:`analytics.diagnosis`); and the inputs of the blocker flags
(:mod:`analytics.flags`), with the profile-adjusted residuals that rank them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from analytics.advice import Advice
from analytics.diagnosis_results import (
    CONFIDENCE,
    MIN_TEAMS_FOR_SPREAD,
    DimensionFinding,
    OrgDimension,
    json_number,
)
from analytics.flags import (
    BlockerReference,
    CellStats,
    TeamFlags,
    flag_round,
)
from analytics.instrument import Dimension, Instrument, ResponseScale
from analytics.norms import percentile_rank


def dimension_kinds(instrument: Instrument) -> dict[str, str | None]:
    """Each dimension's kind: "blocker", "practice" or ``None``."""
    blockers = {dim.id for dim in instrument.blocker_dimensions}
    practices = {dim.id for dim in instrument.practice_dimensions}
    return {
        dim.id: "blocker" if dim.id in blockers else "practice" if dim.id in practices else None
        for dim in instrument.dimensions
    }


def scale_of(dim: Dimension, instrument: Instrument) -> ResponseScale:
    """The response scale a dimension's items are answered on."""
    return dim.response_scale or instrument.response_scale


def prevalence_threshold(
    dim: Dimension, instrument: Instrument, kind: str | None, blocker_threshold: float | None
) -> float:
    """The score at or above which a member counts towards prevalence (see the rules)."""
    if kind == "blocker" and blocker_threshold is not None:
        return float(blocker_threshold)
    scale = scale_of(dim, instrument)
    return scale.min + 0.75 * (scale.max - scale.min)


def team_labels(column: pd.Series) -> pd.Series:
    """Team names as strings, ``NaN`` kept for rows without a team."""
    labels = column.astype(object).where(column.notna(), None)
    return pd.Series(
        [None if v is None else str(v) for v in labels], index=column.index, dtype=object
    )


def segments(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Offsets of each group's run in an array sorted by group number (``n_groups + 1``)."""
    return np.concatenate(([0], np.cumsum(np.bincount(group, minlength=n_groups))))


def rows_by_team(codes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Positions of the kept rows of shown teams, team by team, in data order within a team."""
    positions = np.flatnonzero(keep & (codes >= 0))
    return positions[np.argsort(codes[positions], kind="stable")]


def basic_findings(
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
        rows = rows_by_team(codes, ~np.isnan(column))
        values, group = column[rows], codes[rows]
        bounds = segments(group, len(shown))
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


def org_references(
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


def org_percentiles(
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


def org_dimensions(
    instrument: Instrument,
    references: Mapping[str, tuple[np.ndarray, bool, np.ndarray]],
    basics: Mapping[str, Mapping[str, DimensionFinding]],
    kinds: Mapping[str, str | None],
    prevalence_at: Mapping[str, float],
    advice: Advice,
) -> dict[str, OrgDimension]:
    """Per dimension, the org reference statistics and thresholds (:class:`OrgDimension`)."""
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
        scale = scale_of(dim, instrument)
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


def complete_finding(
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


def flag_teams(
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
