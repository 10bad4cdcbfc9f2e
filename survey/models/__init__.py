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
from survey.models.api_token import API_SCOPES, ApiToken
from survey.models.commitment import Commitment
from survey.models.counterparty import COUNTERPARTY_KINDS, Counterparty
from survey.models.instrument import InstrumentVersion
from survey.models.job import JOB_KINDS, JOB_STATUSES, Job
from survey.models.organization import Organization, Participant, Team
from survey.models.release import DISCLOSURE_KINDS, Disclosure, TeamRelease
from survey.models.response import Answer, ContextAnswer, Response
from survey.models.round import ROUND_MODES, ROUND_STATUSES, Invitation, SurveyRound, round_teams
from survey.models.sso import SsoSettings
from survey.models.webhook import (
    WEBHOOK_EVENTS,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "API_SCOPES",
    "COUNTERPARTY_KINDS",
    "DISCLOSURE_KINDS",
    "JOB_KINDS",
    "JOB_STATUSES",
    "ROLES",
    "ROUND_MODES",
    "ROUND_STATUSES",
    "STAFF_TOKEN_PURPOSES",
    "WEBHOOK_EVENTS",
    "Answer",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "CoachAssignment",
    "Commitment",
    "ContextAnswer",
    "Counterparty",
    "Disclosure",
    "InstrumentVersion",
    "Invitation",
    "Job",
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
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "round_teams",
]
