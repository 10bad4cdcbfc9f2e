"""Coach pages: their teams and rounds, each team's dashboard and PDF report.

Only team aggregates are ever shown, and nothing for a team under the
anonymity threshold.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from survey.database import begin_write
from survey.extensions import db
from survey.models import SurveyRound, Team
from survey.services import audit, gap_views, ledger, releases, rounds, team_reports
from survey.services.coaching import coach_overview
from survey.web.authz import viewable_team
from survey.web.inputs import InputError

bp = Blueprint("coach", __name__, url_prefix="/coach")


@bp.before_request
@login_required
def _require_login() -> None:
    """Every coach page needs a login; each view then checks the team."""


@bp.get("/")
def index() -> ResponseReturnValue:
    """The coach's teams and how far each round has come."""
    return render_template(
        "coach/index.html",
        entries=coach_overview(current_user),
        threshold=current_app.config["ANONYMITY_THRESHOLD"],
    )


def _team_and_round(team_id: int, round_id: int) -> tuple[Team, SurveyRound]:
    team = viewable_team(team_id)
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None or not rounds.includes_team(survey_round, team):
        abort(404)
    return team, survey_round


class _Suppressed(Exception):
    """The team is under the threshold; carries the page that says so."""

    def __init__(self, page: str) -> None:
        self.page = page


def _view(team: Team, survey_round: SurveyRound, language: str = "en") -> team_reports.TeamView:
    """The team's released findings, or :class:`_Suppressed` with the page saying why not."""
    if survey_round.counterparty_id is not None:
        abort(404)  # a counterparty round has no team profile: see its gap view
    threshold = current_app.config["ANONYMITY_THRESHOLD"]
    try:
        return team_reports.team_view(survey_round, team, threshold, date.today(), language)
    except team_reports.TeamSuppressed as suppressed:
        status = next(r for r in releases.release_overview(survey_round) if r.team == team.name)
        submitted = next(
            c.submitted for c in rounds.completion_by_team(survey_round) if c.team.id == team.id
        )
        page = render_template(
            "coach/suppressed.html",
            team=team,
            survey_round=survey_round,
            submitted=submitted,
            release=status,
            threshold=threshold,
            release_step=current_app.config["RELEASE_STEP"],
            release_while_open=current_app.config["RELEASE_WHILE_OPEN"],
        )
        raise _Suppressed(page) from suppressed


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/")
def dashboard(team_id: int, round_id: int) -> ResponseReturnValue:
    """The team's findings: top blockers, pillars, plays, charts."""
    team, survey_round = _team_and_round(team_id, round_id)
    if survey_round.counterparty_id is not None:  # its results are the gap view (#16)
        return redirect(url_for("coach.gap", team_id=team.id, round_id=survey_round.id))
    try:
        view = _view(team, survey_round)
    except _Suppressed as suppressed:
        return suppressed.page
    ledger.record_now(view.shown("dashboard", survey_round), user=current_user)
    context = view.context
    kinds = [k for k in team_reports.CHART_KINDS if k != "change" or context.change is not None]
    return render_template(
        "coach/dashboard.html",
        team=team,
        survey_round=survey_round,
        context=context,
        kinds=kinds,
        report_languages=team_reports.REPORT_LANGUAGES,
    )


CHART_RULE = "<any(blockers, spread, pillars, practices, change, trend):kind>.svg"


@bp.get(f"/teams/<int:team_id>/rounds/<int:round_id>/charts/{CHART_RULE}")
def chart(team_id: int, round_id: int, kind: str) -> ResponseReturnValue:
    """One chart of the dashboard as SVG."""
    team, survey_round = _team_and_round(team_id, round_id)
    try:
        view = _view(team, survey_round)
    except _Suppressed:
        abort(404)
    if kind == "change" and view.context.change is None:
        abort(404)
    if kind == "trend" and (view.context.trend is None or len(view.context.trend.round_labels) < 2):
        abort(404)  # the trend chart starts with a second released round (#16)
    svg = team_reports.chart_svg(view, kind)
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/report.pdf")
def report(team_id: int, round_id: int) -> ResponseReturnValue:
    """Download the PDF team report (recorded in the audit log); ``?lang=fr`` words it in
    French (one of the shipped languages; 400 otherwise)."""
    team, survey_round = _team_and_round(team_id, round_id)
    try:
        language = team_reports.report_language(request.args.get("lang"))
    except ValueError as unknown:
        raise InputError(f"lang: {unknown}.") from None
    try:
        view = _view(team, survey_round, language)
    except _Suppressed as suppressed:
        return suppressed.page, 409
    pdf = team_reports.team_pdf(view.context)
    shown = view.shown("report", survey_round)
    team_id_value, org_id, round_name, team_name = (
        team.id,
        team.organization_id,
        survey_round.name,
        team.name,
    )
    also_shown = gap_views.report_disclosures(view, "report")  # its counterparty page (#16)
    begin_write()
    audit.record(
        "report_downloaded",
        actor=current_user,
        organization_id=org_id,
        target=f"{team_name} / {round_name}",
        remote_addr=request.remote_addr,
    )
    ledger.record(shown, user=current_user)
    for extra in also_shown:
        ledger.record(extra, user=current_user)
    db.session.commit()
    suffix = "" if language == "en" else f"-{language}"
    filename = f"negoscope-team-{team_id_value}-round-{round_id}{suffix}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
