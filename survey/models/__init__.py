"""Typed SQLAlchemy models, one module per aggregate."""

from survey.models.account import (
    ROLES,
    STAFF_TOKEN_PURPOSES,
    AuditEvent,
    AuthSession,
    CoachAssignment,
    Membership,
    StaffToken,
    ThrottleEvent,
    User,
)
from survey.models.analysis import StoredAnalysis
from survey.models.commitment import Commitment
from survey.models.counterparty import COUNTERPARTY_KINDS, Counterparty
from survey.models.instrument import InstrumentVersion
from survey.models.organization import Organization, Participant, Team
from survey.models.release import DISCLOSURE_KINDS, Disclosure, TeamRelease
from survey.models.response import Answer, ContextAnswer, Response
from survey.models.round import ROUND_MODES, ROUND_STATUSES, Invitation, SurveyRound, round_teams
from survey.models.sso import SsoSettings

__all__ = [
    "COUNTERPARTY_KINDS",
    "DISCLOSURE_KINDS",
    "ROLES",
    "ROUND_MODES",
    "ROUND_STATUSES",
    "STAFF_TOKEN_PURPOSES",
    "Answer",
    "AuditEvent",
    "AuthSession",
    "CoachAssignment",
    "Commitment",
    "ContextAnswer",
    "Counterparty",
    "Disclosure",
    "InstrumentVersion",
    "Invitation",
    "Membership",
    "Organization",
    "Participant",
    "Response",
    "SsoSettings",
    "StaffToken",
    "StoredAnalysis",
    "SurveyRound",
    "Team",
    "TeamRelease",
    "ThrottleEvent",
    "User",
    "round_teams",
]
