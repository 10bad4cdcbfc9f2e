"""The respondent's questionnaire: no account, the invitation link is the credential."""

from survey.web.respond.views import bp

__all__ = ["bp"]
