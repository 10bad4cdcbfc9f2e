"""Staff login (password or single sign-on), logout, password change, set-password links
and forgotten passwords."""

from survey.web.auth import links, sso  # noqa: F401  (register their routes on bp)
from survey.web.auth.views import bp

__all__ = ["bp"]
