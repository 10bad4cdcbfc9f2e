"""Staff login, logout and password change."""

from survey.web.auth.views import bp

__all__ = ["bp"]
