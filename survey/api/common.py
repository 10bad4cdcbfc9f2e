"""Helpers the API views share: loading an organization's objects, refusals as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_smorest import abort

from survey.extensions import db
from survey.models import Organization, Participant, SurveyRound, Team
from survey.services.organizations import MemberProblem, TeamNameTaken
from survey.services.rounds import RoundStateError


def team_of(org: Organization, team_id: int) -> Team:
    """A team of the organization, else 404."""
    team = db.session.get(Team, team_id)
    if team is None or team.organization_id != org.id:
        abort(404, message="No such team in this organization.")
    return team


def round_of(org: Organization, round_id: int) -> SurveyRound:
    """A round of the organization, else 404."""
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None or survey_round.organization_id != org.id:
        abort(404, message="No such round in this organization.")
    return survey_round


def member_of(org: Organization, member_id: int) -> Participant:
    """A current (not erased) member of the organization, else 404."""
    person = db.session.get(Participant, member_id)
    if person is None or person.erased_at is not None or person.team.organization_id != org.id:
        abort(404, message="No such member in this organization.")
    return person


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a service's refusal into a JSON error with its status; nothing is written."""
    try:
        yield
    except (RoundStateError, MemberProblem) as error:
        db.session.rollback()
        abort(error.status, message=str(error))
    except TeamNameTaken as error:
        db.session.rollback()
        abort(409, message=str(error))


def refuse(status: int, message: str) -> None:
    """Roll back and answer ``status`` with ``message``."""
    db.session.rollback()
    abort(status, message=message)
