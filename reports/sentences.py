"""The sentences of a team's results, worded once for the PDF report and the dashboard.

:class:`TeamSentences` builds every sentence that states a team's result - a
blocker's line, a pillar's level, how often the team uses a play, why a flag is
tentative, the reliability caveat of a scale, how the round's answers were kept
- from a :class:`reports.context.TeamReportContext`. The PDF
(:mod:`reports.team_report`) and the dashboard template
(``survey/templates/coach/dashboard.html``, through ``context.sentences``)
both print these, so the same value is never worded in two ways. The
sentence templates themselves live in the advice file's ``wording`` section
(:class:`analytics.advice.Wording`); numbers and counts are rounded and worded
by :mod:`analytics.coarsen`.

Examples
--------
>>> sentences = TeamSentences(context)  # doctest: +SKIP
>>> sentences.pillar_label(context.diagnosis.pillars[0])  # doctest: +SKIP
'at risk'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from analytics.advice import Wording, load_advice, verb_agreeing
from analytics.coarsen import count_phrase, display_round, format_score, shows_exact_count
from analytics.diagnosis import DimensionFinding, PillarSummary
from reports.i18n import N_, _
from reports.text import missing, number, ordinal, whole

if TYPE_CHECKING:
    from analytics.agreement import IccEstimate
    from analytics.counterparty import BlockerRating, Interval
    from analytics.gap import BlockerGap, PairPlay
    from analytics.kit_schema import Kit
    from reports.context import CounterpartyContext, ReliabilityInfo, TeamReportContext

__all__ = [
    "AGREEMENT_WORDS",
    "BOTH_SIDES_NOTE",
    "NO_PAIR_PLAYS",
    "SEEN_DIFFERENTLY",
    "CounterpartySentences",
    "TeamSentences",
    "agreement_words",
]

#: How a blocker the team's raters do not agree on is written in the gap chart and
#: tables, instead of a value (never as zero).
SEEN_DIFFERENTLY = N_("seen differently")

#: The gap chart's note beside a blocker clearly present on both sides.
BOTH_SIDES_NOTE = N_("on both sides")

#: No pair rule applies.
NO_PAIR_PLAYS = N_(
    "No rule of the framework fits this pair: use the plays recommended for your own main blockers."
)

#: A counterparty's kind as the intro names it ("a customer").
KINDS = {
    "customer": N_("a customer"),
    "supplier": N_("a supplier"),
    "partner": N_("a partner"),
    "internal": N_("an internal"),
    "internal team": N_("an internal team"),
}

#: rwg(j) in words, by the upper end of each band (LeBreton & Senter 2008, Table 3);
#: the band that holds the cut value is split at it, so the words never contradict
#: whether a blocker is shared.
AGREEMENT_WORDS = (
    (0.30, N_("no real agreement")),
    (0.50, N_("weak agreement")),
    (0.70, N_("moderate agreement")),
    (0.90, N_("strong agreement")),
    (1.00, N_("very strong agreement")),
)


def agreement_words(rwg: float | None, cut: float, shared: bool | None = None) -> str:
    """rwg(j) in words, read from its printed (two-decimal) value and never contradicting
    whether the view is shared (``shared``, by default ``rwg >= cut``).

    Examples
    --------
    >>> agreement_words(0.84, 0.70), agreement_words(0.62, 0.70), agreement_words(None, 0.7)
    ('strong agreement', 'moderate agreement', 'not available')
    >>> agreement_words(0.70, 0.70), agreement_words(0.69, 0.70)
    ('strong agreement', 'moderate agreement')
    """
    if rwg is None:
        return missing()
    return _(_agreement_words(rwg, cut, shared))


def _agreement_words(rwg: float, cut: float, shared: bool | None) -> str:
    shared = rwg >= cut if shared is None else shared
    rwg = display_round(rwg, 2)  # the words read the value as printed
    if shared:  # the first band above the cut that holds the value
        above = [(u, w) for u, w in AGREEMENT_WORDS if u > cut]
        return next((w for u, w in above if rwg <= u), AGREEMENT_WORDS[-1][1])
    below = [(u, w) for u, w in AGREEMENT_WORDS if u <= cut] or [AGREEMENT_WORDS[0]]
    return next((w for u, w in below if rwg <= u), below[-1][1])


class TeamSentences:
    """Every sentence about one team's results (see the module docstring).

    Parameters
    ----------
    context : TeamReportContext
        The team's report context.
    """

    def __init__(self, context: TeamReportContext) -> None:
        self.context = context
        self.wording: Wording = load_advice(language=context.language).wording

    # --- blockers ----------------------------------------------------------------------

    def summary(self) -> str:
        """The summary: the first main (or tentative) blocker, or that none stands out."""
        return self.context.diagnosis.summary or self.wording.no_blocker

    def blocker_lead(self, dim_id: str) -> str:
        """A blocker's name with its percentile ("Deadline pressure · 81st percentile")."""
        lead = self.context.name_of(dim_id)
        finding = self._finding(dim_id)
        if finding is not None and finding.percentile is not None:
            lead += "  \u00b7  " + _(
                "%(ordinal)s percentile", ordinal=ordinal(whole(finding.percentile))
            )
        return lead

    def members(self, dim_id: str) -> str:
        """Members at or above "Agree" on a blocker, worded ("Most members hold back ...")."""
        finding = self._finding(dim_id)
        if finding is None:
            return _("Withheld: too few members answered these questions.")
        behaviour = self.context.dimension(dim_id).behaviour or _(
            "score at the agreement end of it"
        )
        k, n = finding.n_prevalent, finding.n_scored
        if k is None or n is None:
            return _("Members who %(behaviour)s: %(count)s.", behaviour=behaviour, count=missing())
        exact = k if shows_exact_count(k, n) else None
        behaviour = verb_agreeing(behaviour, exact)
        if k == 0:  # its own sentence: French puts "none" with a singular, negative verb
            return _("None of the members %(behaviour)s.", behaviour=behaviour)
        who = count_phrase(k, n)
        return _("%(Who)s %(behaviour)s.", Who=who[:1].upper() + who[1:], behaviour=behaviour)

    def flag(self, dim_id: str) -> str | None:
        """What the flag says: a main blocker, or a tentative one and why; else ``None``."""
        flag = self.context.diagnosis.flags.get(dim_id)
        if flag is None or not flag.above:
            return None
        name = self.context.name_of(dim_id)
        if flag.level == "main":
            return self.wording.main_blocker.format(name=name)
        finding = self._finding(dim_id)
        n = finding.n_scored if finding is not None else self.context.n
        note = self.wording.tentative_note(n, flag.fragile)
        return f"{self.wording.tentative_blocker.format(name=name)} {note}"

    def blocker_line(self, dim_id: str) -> str:
        """A blocker's line: who agrees, the flag, and the scale's reliability caveat."""
        parts = [self.members(dim_id), self.flag(dim_id), self.caveat(dim_id)]
        return " ".join(p for p in parts if p)

    def strengths(self) -> list[tuple[str, str]]:
        """The strength sentences with their scale's caveat, as (blocker id, sentence)."""
        diagnosis = self.context.diagnosis
        return [
            (dim_id, " ".join(p for p in (sentence, self.caveat(dim_id)) if p))
            for dim_id, sentence in zip(
                diagnosis.strengths, diagnosis.strength_sentences, strict=False
            )
        ]

    def asked_as(self, dim_id: str) -> str | None:
        """The questionnaire's name of a scale when the report calls it otherwise.

        Respondents answer questions headed "Trust"; the report speaks of
        "Guarded information". ``None`` when the names agree.
        """
        try:
            dim = self.context.dimension(dim_id)
        except KeyError:
            return None
        if dim.instrument_name == dim.name:
            return None
        return _("asked as \u201c%(name)s\u201d in the questionnaire", name=dim.instrument_name)

    # --- pillars -------------------------------------------------------------------------

    def pillar_label(self, pillar: PillarSummary) -> str:
        """A pillar's level as labelled everywhere ("at risk", "at risk (tentative)")."""
        return self.wording.level_label(pillar.level, pillar.tentative)

    def pillar_meaning(self, pillar: PillarSummary) -> str:
        """What the level means, naming the blockers that decide it."""
        phrase = self.wording.pillar_phrase(pillar.level, pillar.tentative)
        meaning = phrase.partition(": ")[2] or phrase
        if pillar.flagged and pillar.level == "at risk":
            names = ", ".join(self.context.name_of(b) for b in pillar.flagged)
            meaning += f" ({names})"
        return meaning[:1].upper() + meaning[1:] + "."

    # --- plays ---------------------------------------------------------------------------

    def usage(self, play_id: str, mean: float | None) -> str:
        """How often the team uses a play, with the scale's caveat when it has one."""
        sentence = _("Your team uses it %(usage)s.", usage=self.context.usage(play_id, mean))
        caveat = self.caveat(play_id)
        return f"{sentence} {caveat}" if caveat else sentence

    def practise_first_none(self) -> str:
        """Why no play is singled out to practise first."""
        if self.context.diagnosis.recommended_plays:
            return _(
                "Your team already uses the plays that counter its main blockers often; keep "
                "them up, and look at the plays it uses less in the practice chart."
            )
        return _(
            "With no main blocker, there is no play we would single out; the practice chart "
            "shows which plays the team already uses."
        )

    # --- reliability, rounds ---------------------------------------------------------------

    def reliability(self, dim_id: str) -> ReliabilityInfo | None:
        """The reliability of a scale, ``None`` when not known."""
        return next((r for r in self.context.reliability if r.dimension == dim_id), None)

    def caveat(self, dim_id: str) -> str | None:
        """The reliability caveat of a scale whose questions agree less than usual."""
        info = self.reliability(dim_id)
        if info is None or not info.flagged:
            return None
        return self.wording.caveat(self.context.name_of(dim_id), info.alpha)

    def round_mode(self, mode: str | None = None) -> str:
        """How the round's answers were kept (confidential, anonymous, or not known)."""
        return self.wording.round_mode(mode if mode is not None else self.context.round_mode)

    def _finding(self, dim_id: str) -> DimensionFinding | None:
        finding = self.context.diagnosis.dimensions.get(dim_id)
        return None if finding is None or finding.withheld else finding


class CounterpartySentences:
    """Every sentence of the us-vs-them page, for the PDF and the dashboard alike.

    The findings and the reasons of the plays come from the framework file's
    ``agreement``, ``gap`` and ``pair_rules`` sections (through
    :class:`analytics.gap.GapAnalysis`); figures are rounded by
    :mod:`analytics.coarsen`, and no count of raters at a level is shown.

    Parameters
    ----------
    counterparty : CounterpartyContext
    context : TeamReportContext, optional
        The team's report context, for the report's names of the blockers.
    """

    def __init__(
        self, counterparty: CounterpartyContext, context: TeamReportContext | None = None
    ) -> None:
        from analytics.kit_schema import load_kit

        self.counterparty = counterparty
        self.context = context
        self.kit: Kit = load_kit(language=context.language if context is not None else "en")

    @property
    def _cut(self) -> float:
        return self.counterparty.rating.rwg_j_min

    def title(self) -> str:
        """The page's title: "Us and <counterparty>"."""
        return _("Us and %(counterparty)s", counterparty=self.counterparty.name)

    def name_of(self, gap: BlockerGap) -> str:
        """A blocker's name as the report calls it."""
        if self.context is not None:
            return self.context.name_of(gap.blocker_id)
        return gap.name

    def intro(self) -> str:
        """What the page compares, and who rated (the raters' number is a completion count)."""
        cp = self.counterparty
        kind = ""
        if cp.kind in KINDS:
            kind = _(KINDS[cp.kind])
        elif cp.kind:
            kind = f"{'an' if cp.kind[:1].lower() in 'aeiou' else 'a'} {cp.kind}"
        deal = _("deal: %(deal)s", deal=cp.deal) if cp.deal else ""
        about = "; ".join(p for p in (kind, deal) if p)
        about = f" ({about})" if about else ""
        return _(
            "Your team's own blocker profile beside how %(n)d members of your team rated "
            "%(counterparty)s%(about)s on the behaviour they have seen at the table. Both are "
            "averages with 95%% intervals; no one's rating is shown.",
            n=cp.gap.rater_n,
            counterparty=cp.name,
            about=about,
        )

    def findings(self) -> tuple[str, ...]:
        """What the comparison finds: whether the view is shared, blockers seen
        differently, and blockers present on both sides (the framework's sentences)."""
        return self.counterparty.gap.findings

    def shared(self) -> bool:
        """Whether the team's view of the counterparty as a whole is shared."""
        return self.counterparty.gap.shared

    def level(self, level: str) -> str:
        """A side's level of a blocker in words ("clearly present")."""
        return self.kit.gap.wording.levels.get(level, level)

    def interval(self, interval: Interval | None) -> str:
        """A mean with its 95% interval, rounded as everywhere ("3.4 (3.0 to 3.8)")."""
        if interval is None:
            return missing()
        if interval.ci_low is None or interval.ci_high is None:
            return format_score(interval.mean)
        return _(
            "%(mean)s (%(low)s to %(high)s)",
            mean=format_score(interval.mean),
            low=format_score(interval.ci_low),
            high=format_score(interval.ci_high),
        )

    def them(self, gap: BlockerGap) -> str:
        """Their side on one blocker: the rating, "seen differently", or withheld."""
        if gap.them_withheld:
            return _("withheld: too few ratings")
        if not gap.them_shared:
            return _(SEEN_DIFFERENTLY)
        return self.interval(gap.them)

    def us(self, gap: BlockerGap) -> str:
        """Your team's side on one blocker."""
        return _("withheld: too few answers") if gap.us is None else self.interval(gap.us)

    def rating(self, gap: BlockerGap) -> BlockerRating | None:
        """The rating behind one blocker's "them" side."""
        return self.counterparty.rating.blocker(gap.blocker_id)

    def agreement(self, gap: BlockerGap) -> str:
        """How much the raters agree on a blocker, in words."""
        rated = self.rating(gap)
        if rated is None or rated.withheld:
            return _("withheld")
        return agreement_words(rated.rwg_j, self._cut, rated.shared)

    def pair_play(self, play: PairPlay) -> str:
        """A play that fits the pair with its reason, as one line (the framework's template)."""
        return self.kit.gap.wording.pair_play.format(name=play.name, reason=play.reason)

    def plays_by_reason(self) -> list[tuple[list[str], str]]:
        """The plays that fit the pair grouped by the rule that chose them: (names, reason)."""
        groups: dict[str, tuple[list[str], str]] = {}
        for play in self.counterparty.gap.plays:
            groups.setdefault(play.rule_id, ([], play.reason))[0].append(play.name)
        return list(groups.values())

    def no_pair_plays(self) -> str:
        """Why no play is listed for the pair."""
        return _(NO_PAIR_PLAYS)

    def both_sides_names(self) -> list[str]:
        """Names of the blockers present on both sides."""
        gap = self.counterparty.gap
        return [self.name_of(b) for b in gap.blockers if b.blocker_id in gap.both_sides]

    # --- method ---------------------------------------------------------------------------

    def method_rwg(self) -> str:
        """How agreement per blocker is measured and the cut."""
        return _(
            "Agreement on each blocker is rwg(j) (James, Demaree & Wolf, 1984): how much closer "
            "the members' ratings are than ratings given at random on the same scale, from 0 "
            "(no agreement) to 1 (full agreement). From %(cut)s on, the team's view of a blocker "
            "is taken as shared and its average is shown; below it, the report says the team "
            "sees the other side differently on that blocker and shows no average. The words "
            "follow LeBreton & Senter (2008).",
            cut=number(self._cut, 2),
        )

    def method_icc(self) -> str:
        """The intraclass correlations of the whole rating, with their intervals."""
        rating = self.counterparty.rating
        result = rating.icc
        if result is None:
            return _(
                "The agreement over the whole profile (intraclass correlation) could not be "
                "computed: fewer than %(threshold)s members answered every blocker question, so "
                "the view is not reported as shared.",
                threshold=self.context.threshold if self.context else _("enough"),
            )

        def est(label: str, value: IccEstimate) -> str:
            if not all(math.isfinite(x) for x in (value.ci_low, value.ci_high)):
                # No interval (e.g. every rater gave the same answers): the value alone.
                return _("%(label)s %(value)s", label=label, value=number(value.value, 2))
            return _(
                "%(label)s %(value)s (95%% CI %(low)s to %(high)s)",
                label=label,
                value=number(value.value, 2),
                low=number(value.ci_low, 2),
                high=number(value.ci_high, 2),
            )

        verdict = _("shared") if rating.profile_shared else _("not shared")
        return _(
            "Over every blocker question at once, the intraclass correlations (Shrout & Fleiss, "
            "1979; the questions are the targets, the members the raters) are %(icc1)s and "
            "%(icc2)s for one member's rating, and %(icc2k)s for the team's average. The view "
            "counts as shared from an ICC(2,k) of %(cut)s on: here it is %(verdict)s.",
            icc1=est("ICC(1)", result.icc1),
            icc2=est("ICC(2)", result.icc2),
            icc2k=est("ICC(2,k)", result.icc2k),
            cut=number(rating.icc_min, 2),
            verdict=verdict,
        )
