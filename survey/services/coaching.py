"""What a coach's home shows: their teams, the teams' rounds and completion."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from survey.extensions import db
from survey.models import SurveyRound, Team, User, round_teams
from survey.services import access, rounds


@dataclass(frozen=True)
class TeamRound:
    """One team in one round, with its completion."""

    team: Team
    survey_round: SurveyRound
    invited: int
    submitted: int


def coach_overview(user: User) -> list[TeamRound]:
    """Every round of every team the user coaches (admins: of their organizations' teams)."""
    teams = {t.id: t for t in access.coached_teams(user)}
    for org in access.admin_organizations(user):
        teams.update({t.id: t for t in org.teams})
    if not teams:
        return []
    pairs = db.session.execute(
        select(round_teams.c.team_id, SurveyRound)
        .join(SurveyRound, SurveyRound.id == round_teams.c.round_id)
        .where(round_teams.c.team_id.in_(teams))
        .order_by(SurveyRound.created_at.desc())
    ).all()
    result = []
    completion_cache: dict[int, dict[int, rounds.TeamCompletion]] = {}
    for team_id, survey_round in pairs:
        if survey_round.id not in completion_cache:
            completion_cache[survey_round.id] = {
                c.team.id: c for c in rounds.completion_by_team(survey_round)
            }
        completion = completion_cache[survey_round.id][team_id]
        result.append(
            TeamRound(teams[team_id], survey_round, completion.invited, completion.submitted)
        )
    return sorted(result, key=lambda r: (r.team.organization_id, r.team.name))
