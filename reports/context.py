"""Everything a team report needs, gathered from the analysis of a round.

:class:`TeamReportContext` is the only input of the renderers in
:mod:`reports.charts` and :mod:`reports.team_report`. It holds aggregates only:
the team's diagnosis, the organization's score distribution as *quantiles*
(never individual scores), quartiles of the teams' spreads, reliability and
profile-method information. :func:`build_team_context` builds it from an
:class:`analytics.pipeline.RoundAnalysis` and enforces the anonymity rule.

Privacy rules applied here
--------------------------
* A team with fewer than ``threshold`` respondents gets no report
  (:class:`TeamSuppressed`).
* The organization reference of a dimension is the same set of scores the
  diagnosis places the team in (shown teams, plus everyone else only when that
  remainder has at least ``threshold`` scores; see :mod:`analytics.diagnosis`).
* A quantile ``p`` of that reference is kept only when at least ``threshold``
  scores are expected beyond it (``n * min(p, 100 - p) / 100 >= threshold``),
  so an outer band edge can never be one person's score.
* Change since the last round is withheld for a dimension when either round
  has fewer than ``threshold`` scores on it.

Examples
--------
>>> from datetime import date
>>> context = build_team_context(  # doctest: +SKIP
...     analysis, "team-02", organization="Acme", round_name="Spring 2025",
...     instrument=instrument, report_date=date(2025, 5, 1),
... )
>>> context.n, context.diagnosis.top_blockers  # doctest: +SKIP
(14, ('time_pressure', 'fixed_pie'))
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.advice import Advice, load_advice
from analytics.change import dimension_change
from analytics.coarsen import format_percent, format_score, scale_label
from analytics.diagnosis import MIN_TEAMS_FOR_SPREAD, OTHER_PROFILES, TeamDiagnosis
from analytics.instrument import Instrument
from analytics.language import DEFAULT_LANGUAGE, check_language, current_language, use_language
from analytics.profile_names import _in_sentence as in_sentence
from analytics.profile_names import display_name
from analytics.release import release_note
from reports.i18n import _
from reports.localize import localize_diagnosis, profile_name

if TYPE_CHECKING:
    from analytics.counterparty import CounterpartyRating
    from analytics.gap import GapAnalysis
    from analytics.pipeline import RoundAnalysis
    from analytics.session_kit import CommitmentFollowup, SessionAgenda
    from analytics.trend import Trend
    from reports.sentences import CounterpartySentences, TeamSentences

__all__ = [
    "QUANTILE_LEVELS",
    "ChangeRow",
    "ChangeSinceLast",
    "CounterpartyContext",
    "DimensionInfo",
    "OrgDistribution",
    "ProfileInfo",
    "ProfileMethodInfo",
    "ReleaseInfo",
    "ReliabilityInfo",
    "SpreadReference",
    "TeamReportContext",
    "TeamSuppressed",
    "UnknownTeam",
    "build_team_context",
]

#: Percentiles of the organization's scores kept for the blocker chart.
QUANTILE_LEVELS: tuple[int, ...] = (5, 10, 25, 50, 75, 90, 95)

#: A centroid this many organization SDs from the organization mean counts as
#: "above" or "below" average in a profile's one-line meaning.
PROFILE_MEANING_SD = 0.4


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _float(value: Any) -> float | None:
    """A finite float, else ``None``."""
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class TeamSuppressed(Exception):
    """The team has fewer respondents than the anonymity threshold.

    Attributes
    ----------
    team : str
    n : int
        Respondents in the team.
    threshold : int
        Respondents needed for a report.
    """

    def __init__(self, team: str, n: int, threshold: int) -> None:
        self.team = team
        self.n = n
        self.threshold = threshold
        super().__init__(
            f"no report for team {team!r}: it has {n} of the {threshold} responses needed "
            "to keep answers anonymous"
        )


class UnknownTeam(KeyError):
    """The analysis has no team of that name."""

    def __init__(self, team: str, known: list[str]) -> None:
        self.team = team
        self.known = known
        super().__init__(team)
        shown = ", ".join(repr(t) for t in known[:10]) + (" ..." if len(known) > 10 else "")
        self.message = f"no team {team!r} in this round; teams are: {shown or '(none)'}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class DimensionInfo:
    """A dimension of the instrument as the report names it.

    ``name`` is the plain-language name used in the diagnosis (the advice
    file's blocker names), ``instrument_name`` the questionnaire's.
    ``behaviour`` is the advice file's phrase for what members with a high
    score do ("concede more than planned when a deadline nears"); ``None``
    when the advice file does not describe the dimension.
    """

    id: str
    name: str
    instrument_name: str
    description: str
    kind: str | None
    scale_min: int
    scale_max: int
    scale_labels: tuple[str, ...]
    behaviour: str | None = None

    def usage(self, mean: float | None) -> str:
        """A team mean on this scale in words and as its rounded number.

        The label is that of the scale point the *printed* number reads as
        (:func:`analytics.coarsen.scale_label`), so the two always agree.

        Examples
        --------
        >>> meso = DimensionInfo("meso", "MESOs", "MESOs", "", "practice", 1, 5,
        ...                      ("Never", "Rarely", "Sometimes", "Often", "Always"))
        >>> meso.usage(2.45)
        'sometimes on average (2.5 on a 1\u20135 scale from Never to Always)'
        >>> meso.usage(None)
        'not known (too few answers)'
        """
        if mean is None or not math.isfinite(mean):
            return _("not known (too few answers)")
        shown = format_score(mean)
        if not self.scale_labels:
            return _("%(score)s on average", score=shown)
        label = scale_label(mean, self.scale_labels, self.scale_min).lower()
        return _(
            "%(label)s on average (%(score)s on a %(min)d\u2013%(max)d scale from %(first)s to "
            "%(last)s)",
            label=label,
            score=shown,
            min=self.scale_min,
            max=self.scale_max,
            first=self.scale_labels[0],
            last=self.scale_labels[-1],
        )


@dataclass(frozen=True)
class OrgDistribution:
    """Quantiles of the organization's scores on one dimension.

    ``values[i]`` is the :data:`QUANTILE_LEVELS` ``[i]`` percentile, ``None``
    when too few scores lie beyond it (see the module notes).
    """

    dimension: str
    n: int
    values: tuple[float | None, ...]

    def quantile(self, level: int) -> float | None:
        """The value at one of :data:`QUANTILE_LEVELS`."""
        return self.values[QUANTILE_LEVELS.index(level)]


@dataclass(frozen=True)
class SpreadReference:
    """Quartiles of the shown teams' standard deviations on one dimension."""

    dimension: str
    n_teams: int
    q25: float | None
    q50: float | None
    q75: float | None


@dataclass(frozen=True)
class ReliabilityInfo:
    """Cronbach's alpha of one scale (with its Feldt 95% interval and McDonald's
    omega total when the analysis has them), for the method section and the
    caveats beside every statement that uses the scale."""

    dimension: str
    alpha: float | None
    n_items: int
    flagged: bool
    alpha_ci_low: float | None = None
    alpha_ci_high: float | None = None
    omega: float | None = None


@dataclass(frozen=True)
class ProfileInfo:
    """A profile and a one-line meaning derived from its centroid."""

    name: str
    meaning: str


@dataclass(frozen=True)
class ProfileMethodInfo:
    """How the profiles were found."""

    method: str
    k: int
    profiles: tuple[ProfileInfo, ...]
    stability_ari: float | None
    stability_verdict: str | None


@dataclass(frozen=True)
class ChangeRow:
    """Change of the team's mean on one dimension since the earlier round."""

    dimension: str
    mean_before: float | None
    mean_after: float | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    n_before: int
    n_after: int
    withheld: bool


@dataclass(frozen=True)
class ChangeSinceLast:
    """The team's change per dimension since an earlier round."""

    previous_round: str
    rows: tuple[ChangeRow, ...]

    def frame(self) -> pd.DataFrame:
        """The rows as a frame indexed by dimension id."""
        records = [row.__dict__ for row in self.rows]
        return pd.DataFrame.from_records(records).set_index("dimension")


@dataclass(frozen=True)
class ReleaseInfo:
    """Which release of the team's answers the figures come from (see analytics.release)."""

    released_on: date
    step: int


@dataclass(frozen=True)
class CounterpartyContext:
    """A counterparty the team rated, with the us-vs-them view (#16).

    Built by the caller only from a released counterparty round with at least
    the anonymity threshold of raters (``gap`` and ``rating`` do not exist
    otherwise). ``kind`` is "customer", "supplier", "partner" or "internal team";
    ``deal`` the deal's name when the round names one; ``round_name`` the
    counterparty round's name.
    """

    name: str
    gap: GapAnalysis
    rating: CounterpartyRating
    kind: str | None = None
    deal: str | None = None
    round_name: str | None = None


@dataclass(frozen=True)
class TeamReportContext:
    """Everything a team report shows, and nothing more (aggregates only).

    The last four fields are optional sections (#16), each shown only when given:
    the counterparty page (``counterparty``), the facilitator agenda
    (``agenda``), the previous round's commitments beside the change in their
    blockers (``followups``) and the trend across every round (``trend``).
    """

    organization: str
    round_name: str
    report_date: date
    team: str
    n: int
    invited: int | None
    response_rate: float | None
    threshold: int
    n_round: int
    instrument_title: str
    instrument_version: int
    dimensions: tuple[DimensionInfo, ...]
    diagnosis: TeamDiagnosis
    org_distributions: Mapping[str, OrgDistribution] = field(default_factory=_frozen)
    spread_references: Mapping[str, SpreadReference] = field(default_factory=_frozen)
    reliability: tuple[ReliabilityInfo, ...] = ()
    profiles: ProfileMethodInfo | None = None
    change: ChangeSinceLast | None = None
    round_mode: str | None = None
    #: Why the round reports no profiles ("" when it does, or was not fitted).
    no_profiles_reason: str = ""
    #: The release the figures come from: when it was made and the release step.
    release: ReleaseInfo | None = None
    #: The us-vs-them view of one counterparty the team rated (its own page).
    counterparty: CounterpartyContext | None = None
    #: A facilitator agenda for a 60-90 minute session built from these results.
    agenda: SessionAgenda | None = None
    #: The previous round's commitments beside the change in their blockers.
    followups: tuple[CommitmentFollowup, ...] = ()
    #: The team's blocker means across every released round (oldest first).
    trend: Trend | None = None
    #: The language the report is worded in (:data:`analytics.language.LANGUAGES`);
    #: names, descriptions and the diagnosis's sentences are already in it.
    language: str = "en"
    #: Profile names (as the analysis names them, in English) in :attr:`language`.
    profile_labels: Mapping[str, str] = field(default_factory=_frozen)

    @property
    def release_text(self) -> str | None:
        """When these results were released and when they may change, or ``None``."""
        if self.release is None:
            return None
        return release_note(self.threshold, self.release.step, self.release.released_on)

    @property
    def sentences(self) -> TeamSentences:
        """The team's sentences, worded once for the PDF and the dashboard."""
        from reports.sentences import TeamSentences

        return TeamSentences(self)

    @property
    def counterparty_sentences(self) -> CounterpartySentences | None:
        """The counterparty page's sentences (``None`` without a counterparty)."""
        if self.counterparty is None:
            return None
        from reports.sentences import CounterpartySentences

        return CounterpartySentences(self.counterparty, self)

    def profile_label(self, name: str) -> str:
        """A profile's name as the report prints it (in the report's language)."""
        return self.profile_labels.get(name, name)

    def dimension(self, dimension_id: str) -> DimensionInfo:
        """The dimension with this id (``KeyError`` when unknown)."""
        for dim in self.dimensions:
            if dim.id == dimension_id:
                return dim
        raise KeyError(dimension_id)

    def usage(self, dimension_id: str, mean: float | None) -> str:
        """How often the team uses a play, as the report and the dashboard word it.

        See :meth:`DimensionInfo.usage`; a dimension the context does not know
        gets the rounded number only.
        """
        try:
            return self.dimension(dimension_id).usage(mean)
        except KeyError:
            if mean is None or not math.isfinite(mean):
                return _("not known (too few answers)")
            return _("%(score)s on average", score=format_score(mean))

    @property
    def response_rate_text(self) -> str | None:
        """The response rate as a whole percentage ("88%"), ``None`` when unknown."""
        if self.response_rate is None or not self.invited:
            return None
        return format_percent(self.response_rate)

    def name_of(self, dimension_id: str) -> str:
        """Plain-language name of a dimension (the id when unknown)."""
        try:
            return self.dimension(dimension_id).name
        except KeyError:
            return dimension_id

    @property
    def blockers(self) -> tuple[DimensionInfo, ...]:
        """Blocker dimensions, in instrument order."""
        return tuple(d for d in self.dimensions if d.kind == "blocker")

    @property
    def practices(self) -> tuple[DimensionInfo, ...]:
        """Practice dimensions, in instrument order."""
        return tuple(d for d in self.dimensions if d.kind == "practice")


def build_team_context(
    analysis: RoundAnalysis,
    team: str,
    *,
    organization: str,
    round_name: str,
    instrument: Instrument,
    report_date: date,
    previous: tuple[str, pd.DataFrame] | None = None,
    round_mode: str | None = None,
    release: ReleaseInfo | None = None,
    language: str = "en",
) -> TeamReportContext:
    """Gather what the report of one team needs from a round's analysis.

    Parameters
    ----------
    analysis : RoundAnalysis
        The analysis of the round (:func:`analytics.pipeline.analyze_round`).
    team : str
        The team to report on.
    organization : str
        Organization name for the cover.
    round_name : str
        Round name for the cover and footer.
    instrument : Instrument
        The questionnaire (names, descriptions and scales of the dimensions).
    report_date : date
        Date printed on the report and written as the PDF creation date.
    previous : (str, pandas.DataFrame), optional
        Name of an earlier round and the team's dimension scores in it (one
        row per respondent, as from :func:`analytics.scoring.score_dimensions`);
        the change since then is computed with
        :func:`analytics.change.dimension_change`.
    round_mode : {"confidential", "anonymous"}, optional
        How the round's answers were kept; the report words its comparisons
        accordingly (a neutral sentence when not given).
    release : ReleaseInfo, optional
        The release the figures come from; the report says when it was made and
        when results may next change.
    language : str, default "en"
        The language to word the report in: the framework's translation, the
        instrument's (when it has one) and the diagnosis's sentences re-worded
        from the same findings (:mod:`reports.localize`).

    Returns
    -------
    TeamReportContext

    Raises
    ------
    UnknownTeam
        The round has no such team (a ``KeyError``).
    TeamSuppressed
        The team has fewer respondents than the anonymity threshold.
    """
    diagnosis = analysis.diagnosis
    if team not in diagnosis.teams:
        raise UnknownTeam(team, sorted(diagnosis.teams))
    finding = diagnosis.teams[team]
    if finding.suppressed:
        raise TeamSuppressed(team, finding.n, diagnosis.threshold)

    threshold = diagnosis.threshold
    language = check_language(language)
    advice = load_advice(language=language)
    if language != instrument.language and language in instrument.declared_languages:
        instrument = instrument.localized(language, fallback=True)
    dims = tuple(
        _dimension_info(instrument, dim.id, diagnosis, advice, language)
        for dim in instrument.dimensions
    )
    if language != DEFAULT_LANGUAGE:
        with use_language(language):
            finding = localize_diagnosis(finding, advice, {d.id: d.name for d in dims})
    with use_language(language):
        parts = _round_parts(analysis, tuple(d.id for d in dims), {d.id: d.name for d in dims})
    labels = parts.labels

    change = None
    if previous is not None:
        previous_round, before = previous
        current = analysis.scores.loc[(labels == team).to_numpy()]
        change = _change(str(previous_round), before, current, [d.id for d in dims], threshold)

    return TeamReportContext(
        organization=str(organization),
        round_name=str(round_name),
        report_date=report_date,
        team=str(team),
        n=finding.n,
        invited=finding.invited,
        response_rate=finding.response_rate,
        threshold=threshold,
        n_round=diagnosis.n_respondents,
        instrument_title=instrument.title,
        instrument_version=instrument.version,
        dimensions=dims,
        diagnosis=finding,
        org_distributions=parts.org_distributions,
        spread_references=parts.spread_references,
        reliability=parts.reliability,
        profiles=parts.profiles,
        change=change,
        round_mode=round_mode,
        no_profiles_reason=str(getattr(analysis, "profile_reason", "") or ""),
        release=release,
        language=language,
        profile_labels=_frozen(_profile_labels(analysis, parts.profiles, dims, language)),
    )


def _profile_labels(
    analysis: RoundAnalysis,
    profiles: ProfileMethodInfo | None,
    dims: tuple[DimensionInfo, ...],
    language: str,
) -> dict[str, str]:
    """The profiles' names in the language (none to change in English)."""
    if language == DEFAULT_LANGUAGE or profiles is None:
        return {}
    used = getattr(analysis.profile_model, "dimension_names", None)
    inside: dict[str, str] = {}
    for dim in dims:
        french = in_sentence(dim.name)
        for names in (used, None):
            inside[in_sentence(display_name(dim.id, names))] = french
    names = [p.name for p in profiles.profiles] + [OTHER_PROFILES]
    return {name: profile_name(name, inside, language) for name in names}


@dataclass(frozen=True)
class _RoundParts:
    """The parts of a team's context that are the same for every team of the round."""

    labels: pd.Series
    org_distributions: Mapping[str, OrgDistribution]
    spread_references: Mapping[str, SpreadReference]
    reliability: tuple[ReliabilityInfo, ...]
    profiles: ProfileMethodInfo | None


# Built once per analysis (and list of dimensions) for all its teams; an analysis is
# immutable, and its entry goes when the analysis does.
_ROUND_PARTS: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], _RoundParts]] = (
    weakref.WeakKeyDictionary()
)
_ROUND_PARTS_LOCK = threading.Lock()


def _round_parts(
    analysis: RoundAnalysis, dim_ids: tuple[str, ...], names: Mapping[str, str]
) -> _RoundParts:
    """The round's parts in the current language (``names``: the dimensions' names in it)."""
    key = (*dim_ids, current_language())
    try:
        with _ROUND_PARTS_LOCK:
            parts = _ROUND_PARTS.get(analysis, {}).get(key)
    except TypeError:  # an object without weak references (a test double): not kept
        return _build_round_parts(analysis, dim_ids, names)
    if parts is None:
        parts = _build_round_parts(analysis, dim_ids, names)
        with _ROUND_PARTS_LOCK:
            _ROUND_PARTS.setdefault(analysis, {})[key] = parts
    return parts


def _build_round_parts(
    analysis: RoundAnalysis, dim_ids: tuple[str, ...], names: Mapping[str, str]
) -> _RoundParts:
    diagnosis = analysis.diagnosis
    threshold = diagnosis.threshold
    labels = _team_labels(analysis.teams)
    shown = [name for name, t in diagnosis.teams.items() if not t.suppressed]
    return _RoundParts(
        labels=labels,
        org_distributions=_frozen(
            {
                dim_id: _org_distribution(analysis, labels, shown, dim_id, threshold)
                for dim_id in dim_ids
                if dim_id in analysis.scores.columns and dim_id in diagnosis.org
            }
        ),
        spread_references=_frozen(
            {dim_id: _spread_reference(diagnosis.teams, dim_id) for dim_id in dim_ids}
        ),
        reliability=_reliability(analysis.reliability),
        profiles=_profile_method(analysis, diagnosis, names),
    )


def _team_labels(column: pd.Series) -> pd.Series:
    """Team names as strings (``None`` for rows without a team), as the diagnosis uses."""
    values = [None if pd.isna(v) else str(v) for v in column.astype(object)]
    return pd.Series(values, index=column.index, dtype=object)


def _dimension_info(
    instrument: Instrument, dim_id: str, diagnosis: Any, advice: Advice, language: str = "en"
) -> DimensionInfo:
    dim = instrument.dimension(dim_id)
    blocker_advice = advice.blocker(dim_id)
    scale = dim.response_scale or instrument.response_scale
    org = diagnosis.org.get(dim_id)
    kind = dim.kind
    if kind is None and org is not None:
        kind = org.kind
    name = org.name if org is not None else dim.name
    if language != DEFAULT_LANGUAGE:  # the framework's name in the language, else the file's
        play = advice.play(dim_id)
        name = blocker_advice.name if blocker_advice else play.name if play else dim.name
    return DimensionInfo(
        id=dim.id,
        name=name,
        instrument_name=dim.name,
        description=" ".join(dim.description.split()),
        kind=kind,
        scale_min=scale.min,
        scale_max=scale.max,
        scale_labels=tuple(scale.labels),
        behaviour=blocker_advice.behaviour if blocker_advice is not None else None,
    )


def _org_distribution(
    analysis: RoundAnalysis, labels: pd.Series, shown: list[str], dim_id: str, threshold: int
) -> OrgDistribution:
    """Quantiles of the same scores the diagnosis compares the team with."""
    diagnosis = analysis.diagnosis
    contributing = [t for t in shown if not diagnosis.teams[t].dimensions[dim_id].withheld]
    mask = labels.isin(contributing).to_numpy()
    if diagnosis.org[dim_id].includes_unshown:
        mask = np.ones(len(labels), dtype=bool)
    scores = analysis.scores[dim_id].to_numpy(dtype="float64", na_value=np.nan)[mask]
    scores = scores[~np.isnan(scores)]
    n = int(scores.size)
    values: list[float | None] = []
    for level in QUANTILE_LEVELS:
        beyond = n * min(level, 100 - level) / 100
        values.append(
            float(np.quantile(scores, level / 100)) if n and beyond >= threshold else None
        )
    return OrgDistribution(dimension=dim_id, n=n, values=tuple(values))


def _spread_reference(teams: Mapping[str, TeamDiagnosis], dim_id: str) -> SpreadReference:
    sds = [
        t.dimensions[dim_id].sd
        for t in teams.values()
        if not t.suppressed
        and dim_id in t.dimensions
        and not t.dimensions[dim_id].withheld
        and t.dimensions[dim_id].sd is not None
    ]
    if len(sds) < MIN_TEAMS_FOR_SPREAD:
        return SpreadReference(dim_id, len(sds), None, None, None)
    q25, q50, q75 = (float(v) for v in np.quantile(sds, [0.25, 0.5, 0.75]))
    return SpreadReference(dim_id, len(sds), q25, q50, q75)


def _reliability(frame: pd.DataFrame) -> tuple[ReliabilityInfo, ...]:
    def optional(row: pd.Series, column: str) -> float | None:
        return _float(row[column]) if column in row.index else None

    return tuple(
        ReliabilityInfo(
            dimension=str(dim),
            alpha=_float(row["alpha"]),
            n_items=int(row["n_items"]),
            flagged=bool(row["flagged"]),
            alpha_ci_low=optional(row, "alpha_ci_low"),
            alpha_ci_high=optional(row, "alpha_ci_high"),
            omega=optional(row, "omega"),
        )
        for dim, row in frame.iterrows()
    )


def _profile_method(
    analysis: RoundAnalysis, diagnosis: Any, names: Mapping[str, str]
) -> ProfileMethodInfo | None:
    model = analysis.profile_model
    if model is None or not hasattr(model, "names_"):
        return None
    centroids = model.centroids_
    profiles = tuple(
        ProfileInfo(name=str(name), meaning=_profile_meaning(row, diagnosis, names))
        for name, row in centroids.iterrows()
    )
    stability = analysis.stability
    return ProfileMethodInfo(
        method=str(model.method),
        k=int(model.k_),
        profiles=profiles,
        stability_ari=None if stability is None else _float(stability.mean_ari),
        stability_verdict=None if stability is None else str(stability.verdict),
    )


def _profile_meaning(centroid: pd.Series, diagnosis: Any, names: Mapping[str, str]) -> str:
    """ "Above the organization's average on X and Y; below it on Z."."""
    above, below = [], []
    for dim_id, value in centroid.items():
        org = diagnosis.org.get(str(dim_id))
        if org is None or org.mean is None or not org.sd:
            continue
        z = (float(value) - org.mean) / org.sd
        name = names.get(str(dim_id), org.name)
        if z >= PROFILE_MEANING_SD:
            above.append((z, name))
        elif z <= -PROFILE_MEANING_SD:
            below.append((-z, name))
    above.sort(key=lambda zn: -zn[0])
    below.sort(key=lambda zn: -zn[0])
    if not above and not below:
        return _("Close to the organization's average on every blocker.")
    parts = []
    if above:
        parts.append(
            _("above the organization's average on %(names)s", names=_join([n for z, n in above]))
        )
    if below:
        parts.append(
            _("below it on %(names)s", names=_join([n for z, n in below]))
            if above
            else _(
                "below the organization's average on %(names)s",
                names=_join([n for z, n in below]),
            )
        )
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def _join(names: list[str]) -> str:
    names = [n[0].lower() + n[1:] if n[:1].isupper() and not n[1:2].isupper() else n for n in names]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + _(" and ") + names[-1]


def _change(
    previous_round: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    dim_ids: list[str],
    threshold: int,
) -> ChangeSinceLast:
    common = [d for d in dim_ids if d in before.columns and d in after.columns]
    frame = dimension_change(before[common], after[common])
    rows = []
    for dim_id, row in frame.iterrows():
        n_before, n_after = int(row["n_before"]), int(row["n_after"])
        withheld = n_before < threshold or n_after < threshold
        rows.append(
            ChangeRow(
                dimension=str(dim_id),
                mean_before=None if withheld else _float(row["mean_before"]),
                mean_after=None if withheld else _float(row["mean_after"]),
                change=None if withheld else _float(row["change"]),
                ci_low=None if withheld else _float(row["ci_low"]),
                ci_high=None if withheld else _float(row["ci_high"]),
                n_before=n_before,
                n_after=n_after,
                withheld=withheld,
            )
        )
    return ChangeSinceLast(previous_round=previous_round, rows=tuple(rows))
