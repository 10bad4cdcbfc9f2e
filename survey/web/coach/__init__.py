"""Coach pages: the teams a coach is assigned to."""

from survey.web.coach import counterparties, kit  # noqa: F401  (#16: routes on bp)
from survey.web.coach.views import bp

__all__ = ["bp"]
