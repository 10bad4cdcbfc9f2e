"""The coach's session kit for one team and round: inputs gathered from the database.

The team report's context (:func:`survey.services.team_reports.team_view`)
carries the kit's released parts, so the dashboard, the agenda page and the PDF
show one set of figures and one wording:

* ``followups``: the commitments made after the team's previous round (the
  round the report's "change since last round" compares with), each beside the
  change in the blockers its play counters - that same change, withheld where
  either round is under the threshold;
* ``trend``: the team's blocker means in every released round of the same
  instrument (:mod:`survey.services.trends`);
* ``agenda``: :func:`analytics.session_kit.build_agenda` from the context's own
  diagnosis (never recomputed), the counterparty gap already in the context (if
  the team has a released counterparty rating) and the commitments.

The deal worksheet is built on request (:mod:`survey.services.worksheets`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select

from analytics.pipeline import RoundAnalysis
from analytics.session_kit import build_agenda
from reports.context import TeamReportContext
from survey.extensions import db
from survey.models import Commitment, SurveyRound, Team
from survey.services import commitments, trends

__all__ = ["kit_key", "with_session_kit"]

AnalysisOf = Callable[[SurveyRound, int], RoundAnalysis]


def kit_key(
    survey_round: SurveyRound, team: Team, earlier: SurveyRound | None
) -> tuple[object, ...]:
    """What the kit's parts depend on besides the round's own snapshot.

    The trend's rounds and their snapshots, and the commitments of this round
    and of ``earlier`` as they are now: a context cached under a key holding
    this is rebuilt exactly when one of them changes.
    """
    round_ids = [survey_round.id] + ([earlier.id] if earlier is not None else [])
    rows = db.session.execute(
        select(
            Commitment.id,
            Commitment.round_id,
            Commitment.play_id,
            Commitment.owner_role,
            Commitment.due_on,
        )
        .where(Commitment.team_id == team.id, Commitment.round_id.in_(round_ids))
        .order_by(Commitment.id)
    ).all()
    return (trends.trend_key(survey_round, team), tuple(tuple(r) for r in rows))


def with_session_kit(
    context: TeamReportContext,
    survey_round: SurveyRound,
    team: Team,
    earlier: SurveyRound | None,
    threshold: int,
    analysis_of: AnalysisOf,
) -> TeamReportContext:
    """The context with its follow-ups, trend and agenda filled in.

    Call after the counterparty part is set: the agenda uses its gap.
    ``earlier`` is the round the context's change compares with.
    """
    names = {d.id: d.name for d in context.dimensions}
    followups = commitments.followups(earlier, team, context.change, names)
    trend = trends.team_trend_of(survey_round, team, threshold, analysis_of, names)
    reviewed = [f.commitment for f in followups]
    reviewed += commitments.records(
        commitments.commitments_of(team, survey_round), context.round_name
    )
    gap = context.counterparty.gap if context.counterparty is not None else None
    agenda = build_agenda(context.diagnosis, gap, reviewed)
    return replace(context, followups=followups, trend=trend, agenda=agenda)
