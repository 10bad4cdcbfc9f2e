"""Staff login, logout, password change, set-password links and forgotten passwords."""

from survey.web.auth import links  # noqa: F401  (registers its routes on bp)
from survey.web.auth.views import bp

__all__ = ["bp"]
