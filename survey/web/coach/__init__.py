"""Coach pages: the teams a coach is assigned to."""

from survey.web.coach.views import bp

__all__ = ["bp"]
