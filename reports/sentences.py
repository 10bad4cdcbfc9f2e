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

from typing import TYPE_CHECKING

from analytics.advice import Wording, load_advice, verb_agreeing
from analytics.coarsen import count_phrase, shows_exact_count
from analytics.diagnosis import DimensionFinding, PillarSummary
from reports.text import MISSING, ordinal, whole

if TYPE_CHECKING:
    from reports.context import ReliabilityInfo, TeamReportContext

__all__ = ["TeamSentences"]


class TeamSentences:
    """Every sentence about one team's results (see the module docstring).

    Parameters
    ----------
    context : TeamReportContext
        The team's report context.
    """

    def __init__(self, context: TeamReportContext) -> None:
        self.context = context
        self.wording: Wording = load_advice().wording

    # --- blockers ----------------------------------------------------------------------

    def summary(self) -> str:
        """The summary: the first main (or tentative) blocker, or that none stands out."""
        return self.context.diagnosis.summary or self.wording.no_blocker

    def blocker_lead(self, dim_id: str) -> str:
        """A blocker's name with its percentile ("Deadline pressure · 81st percentile")."""
        lead = self.context.name_of(dim_id)
        finding = self._finding(dim_id)
        if finding is not None and finding.percentile is not None:
            lead += f"  \u00b7  {ordinal(whole(finding.percentile))} percentile"
        return lead

    def members(self, dim_id: str) -> str:
        """Members at or above "Agree" on a blocker, worded ("Most members hold back ...")."""
        finding = self._finding(dim_id)
        if finding is None:
            return "Withheld: too few members answered these questions."
        behaviour = self.context.dimension(dim_id).behaviour or "score at the agreement end of it"
        k, n = finding.n_prevalent, finding.n_scored
        if k is None or n is None:
            return f"Members who {behaviour}: {MISSING}."
        exact = k if shows_exact_count(k, n) else None
        who = count_phrase(k, n)
        return f"{who[:1].upper()}{who[1:]} {verb_agreeing(behaviour, exact)}."

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
        return f"asked as \u201c{dim.instrument_name}\u201d in the questionnaire"

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
        sentence = f"Your team uses it {self.context.usage(play_id, mean)}."
        caveat = self.caveat(play_id)
        return f"{sentence} {caveat}" if caveat else sentence

    def practise_first_none(self) -> str:
        """Why no play is singled out to practise first."""
        if self.context.diagnosis.recommended_plays:
            return (
                "Your team already uses the plays that counter its main blockers often; keep "
                "them up, and look at the plays it uses less in the practice chart."
            )
        return (
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
