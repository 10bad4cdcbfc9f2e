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

Modules
-------
The work is split along its seams; this module applies the rules in order and
re-exports the results:

* :mod:`analytics.diagnosis_results` - the result dataclasses and :func:`json_number`;
* :mod:`analytics.diagnosis_stats` - team findings, the org reference and the flag inputs;
* :mod:`analytics.diagnosis_plays` - summary, checklist, pillars and plays;
* :mod:`analytics.diagnosis_mix` - the profile mix.

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

from collections.abc import Mapping

import pandas as pd

from analytics.advice import Advice, load_advice
from analytics.diagnosis_mix import profile_mixes
from analytics.diagnosis_plays import (
    checklist_lines,
    find_practice_gaps,
    pillar_level,
    pillar_summaries,
    recommend_plays,
    summary_sentence,
    with_note,
)
from analytics.diagnosis_results import (
    MAX_TOP_BLOCKERS,
    MIN_TEAMS_FOR_SPREAD,
    OTHER_PROFILES,
    DimensionFinding,
    OrgDimension,
    PillarSummary,
    PracticeGap,
    ProfileMix,
    RecommendedPlay,
    RoundDiagnosis,
    TeamDiagnosis,
    frozen_mapping,
    json_number,
)
from analytics.diagnosis_stats import (
    basic_findings,
    complete_finding,
    dimension_kinds,
    flag_teams,
    org_dimensions,
    org_percentiles,
    org_references,
    prevalence_threshold,
    team_labels,
)
from analytics.flags import BlockerFlag, TeamFlags
from analytics.instrument import Instrument
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
    "pillar_level",
]


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

    kinds = dimension_kinds(instrument)
    prevalence_at = {
        dim.id: prevalence_threshold(dim, instrument, kinds[dim.id], blocker_threshold)
        for dim in instrument.dimensions
    }
    invited_by_team = {str(team): int(count) for team, count in (invited or {}).items()}
    teams = team_labels(data[team_col])
    sizes = teams.value_counts(dropna=True)
    names = list(dict.fromkeys([*sorted(sizes.index), *invited_by_team]))
    shown = [t for t in names if int(sizes.get(t, 0)) >= threshold]

    codes = pd.Index(shown, dtype=object).get_indexer(teams.to_numpy(dtype=object))
    basics = basic_findings(instrument, scores, codes, shown, kinds, prevalence_at, threshold)
    references = org_references(instrument, scores, codes, basics, threshold)
    org = org_dimensions(instrument, references, basics, kinds, prevalence_at, advice)
    percentiles = org_percentiles(instrument, references, basics)
    mixes = profile_mixes(profiles, data.index, codes, shown, threshold)
    team_flags = flag_teams(instrument, scores, codes, shown, basics, references, org, profiles)

    results: dict[str, TeamDiagnosis] = {}
    for team in names:
        n = int(sizes.get(team, 0))
        if team not in basics:
            results[team] = TeamDiagnosis(name=team, n=n, suppressed=True)
            continue
        findings = {
            dim_id: complete_finding(finding, percentiles[dim_id].get(team), org[dim_id])
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
        org=frozen_mapping(org),
        teams=frozen_mapping(results),
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
    gaps = find_practice_gaps(top_ids, blocker_advice, findings, org)
    return TeamDiagnosis(
        name=team,
        n=n,
        suppressed=False,
        invited=invited,
        response_rate=n / invited if invited else None,
        dimensions=frozen_mapping(findings),
        top_blockers=top_ids,
        strengths=low_ids,
        summary=summary_sentence(team_flags, findings, blocker_advice, advice),
        strength_sentences=tuple(
            with_note(
                blocker_advice[b].strength_sentence(findings[b].n_prevalent, findings[b].n_scored),
                flags[b],
                findings[b],
                advice,
            )
            for b in low_ids
        ),
        checklist=checklist_lines(blocker_advice[top_ids[0]] if top_ids else None, advice),
        pillars=pillar_summaries(findings, flags, advice),
        practice_gaps=gaps,
        recommended_plays=recommend_plays(
            top_ids, blocker_advice, findings, org, advice, instrument
        ),
        profile_mix=profile_mix,
        flags=flags,
        ranking=team_flags.ranking,
    )
