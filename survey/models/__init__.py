"""Typed SQLAlchemy models, one module per aggregate."""

from survey.models.instrument import InstrumentVersion
from survey.models.organization import Organization, Participant, Team
from survey.models.response import Answer, ContextAnswer, Response
from survey.models.round import ROUND_MODES, ROUND_STATUSES, Invitation, SurveyRound, round_teams

__all__ = [
    "ROUND_MODES",
    "ROUND_STATUSES",
    "Answer",
    "ContextAnswer",
    "InstrumentVersion",
    "Invitation",
    "Organization",
    "Participant",
    "Response",
    "SurveyRound",
    "Team",
    "round_teams",
]
