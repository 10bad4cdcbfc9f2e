"""Coach pages of counterparties: manage them, open a counterparty round, the gap view.

A coach of a team (or an admin of its organization) manages the organization's
counterparties from the team's page, and opens rounds in which the team rates
one. The gap view pairs the team's released rating with its own released
profile; below the threshold it says how many ratings are still needed and
shows no figure.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Counterparty, SurveyRound, Team
from survey.services import counterparties, counterparty_rounds, gap_views, ledger, organizations
from survey.services import rounds as round_service
from survey.services.counterparty_rounds import RatingSuppressed
from survey.services.invitation_links import IssuedLink
from survey.web.admin.forms import choices
from survey.web.authz import viewable_team
from survey.web.coach.views import bp
from survey.web.counterparty_forms import (
    CounterpartyForm,
    CounterpartyRoundForm,
    DeleteCounterpartyForm,
    first_problem,
)


def _team(team_id: int) -> Team:
    """The team if the current user coaches it or administers its organization (else 403/404)."""
    team = viewable_team(team_id)
    if not counterparties.can_manage(current_user, team.organization_id):
        abort(403)
    return team


def _counterparty(team: Team, counterparty_id: int) -> Counterparty:
    """A counterparty of the team's organization, else 404."""
    counterparty = db.session.get(Counterparty, counterparty_id)
    if counterparty is None or counterparty.organization_id != team.organization_id:
        abort(404)
    return counterparty


def _round_form(team: Team, **prefill: object) -> CounterpartyRoundForm:
    form = CounterpartyRoundForm(formdata=None, **prefill) if prefill else CounterpartyRoundForm()
    form.counterparty.choices = choices(
        [(c.id, c.name) for c in counterparties.counterparties_of(team.organization)]
    )
    return form


def _page(
    team: Team,
    status: int = 200,
    *,
    create_form: CounterpartyForm | None = None,
    round_form: CounterpartyRoundForm | None = None,
) -> ResponseReturnValue:
    zone = organizations.zone_of(team.organization)
    today = utcnow().astimezone(zone).date()
    completion = {
        r.id: next(c for c in round_service.completion_by_team(r) if c.team.id == team.id)
        for r in counterparty_rounds.counterparty_rounds_of_team(team)
    }
    return render_template(
        "coach/counterparties/index.html",
        team=team,
        listed=counterparties.counterparties_of(team.organization),
        team_rounds=counterparty_rounds.counterparty_rounds_of_team(team),
        completion=completion,
        kind_label=counterparties.kind_label,
        create_form=create_form or CounterpartyForm(formdata=None),
        round_form=round_form
        or _round_form(team, closes_on=today + timedelta(days=14), mode="confidential"),
        threshold=current_app.config["ANONYMITY_THRESHOLD"],
    ), status


@bp.get("/teams/<int:team_id>/counterparties/")
def counterparties_page(team_id: int) -> ResponseReturnValue:
    """The organization's counterparties and the team's counterparty rounds."""
    return _page(_team(team_id))


@bp.post("/teams/<int:team_id>/counterparties")
def create_counterparty(team_id: int) -> ResponseReturnValue:
    """Add a counterparty to the team's organization (audited)."""
    team = _team(team_id)
    form = CounterpartyForm()
    if not form.validate():
        flash(first_problem(form), "error")
        return _page(team, 400, create_form=form)
    begin_write()
    try:
        counterparty = counterparties.create_counterparty(
            team.organization,
            name=form.name.data,
            kind=form.kind.data,
            deal_name=form.deal_name.data,
            actor=current_user,
        )
    except counterparties.CounterpartyError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(_team(team_id), error.status, create_form=form)
    name = counterparty.name
    db.session.commit()
    flash(
        _("Counterparty %(name)s added. Open a round to let the team rate it.", name=name), "info"
    )
    return redirect(url_for("coach.counterparties_page", team_id=team_id)), 303


@bp.route("/teams/<int:team_id>/counterparties/<int:counterparty_id>/edit", methods=["GET", "POST"])
def edit_counterparty(team_id: int, counterparty_id: int) -> ResponseReturnValue:
    """Change a counterparty's name, kind or deal (audited)."""
    team = _team(team_id)
    counterparty = _counterparty(team, counterparty_id)
    if request.method == "GET":
        form = CounterpartyForm(
            formdata=None,
            name=counterparty.name,
            kind=counterparty.kind,
            deal_name=counterparty.deal_name or "",
        )
        return _edit_page(team, counterparty, form)
    form = CounterpartyForm()
    if not form.validate():
        flash(first_problem(form), "error")
        return _edit_page(team, counterparty, form, 400)
    begin_write()
    try:
        changed = counterparties.update_counterparty(
            _counterparty(team, counterparty_id),
            name=form.name.data,
            kind=form.kind.data,
            deal_name=form.deal_name.data,
            actor=current_user,
        )
    except counterparties.CounterpartyError as error:
        db.session.rollback()
        flash(str(error), "error")
        team = _team(team_id)
        return _edit_page(team, _counterparty(team, counterparty_id), form, error.status)
    db.session.commit()
    flash(
        _("Changed: %(value)s.", value="; ".join(changed))
        if changed
        else _("Nothing was changed."),
        "info",
    )
    return redirect(url_for("coach.counterparties_page", team_id=team_id)), 303


def _edit_page(
    team: Team, counterparty: Counterparty, form: CounterpartyForm, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "coach/counterparties/edit.html",
        team=team,
        counterparty=counterparty,
        form=form,
        delete_form=DeleteCounterpartyForm(formdata=None),
        used=counterparties.rounds_of_counterparty(counterparty),
    ), status


@bp.post("/teams/<int:team_id>/counterparties/<int:counterparty_id>/delete")
def delete_counterparty(team_id: int, counterparty_id: int) -> ResponseReturnValue:
    """Delete a counterparty no round rates, once "I understand" is ticked (audited)."""
    team = _team(team_id)
    counterparty = _counterparty(team, counterparty_id)
    confirm = DeleteCounterpartyForm()
    if not (confirm.validate() and confirm.confirm.data):
        flash(
            _("Nothing was deleted: tick \u201cI understand\u201d to delete the counterparty."),
            "error",
        )
        return _edit_page(team, counterparty, CounterpartyForm(formdata=None), 400)
    begin_write()
    try:
        counterparty = _counterparty(_team(team_id), counterparty_id)
        name = counterparty.name
        counterparties.delete_counterparty(counterparty, actor=current_user)
    except counterparties.CounterpartyError as error:
        db.session.rollback()
        flash(str(error), "error")
        team = _team(team_id)
        return _edit_page(
            team,
            _counterparty(team, counterparty_id),
            CounterpartyForm(formdata=None),
            error.status,
        )
    db.session.commit()
    flash(_("Counterparty %(name)s deleted.", name=name), "info")
    return redirect(url_for("coach.counterparties_page", team_id=team_id)), 303


@bp.post("/teams/<int:team_id>/counterparty-rounds")
def open_counterparty_round(team_id: int) -> ResponseReturnValue:
    """Open a round in which the team rates a counterparty, and show the links once."""
    team = _team(team_id)
    form = _round_form(team)
    if not form.validate():
        flash(first_problem(form), "error")
        return _page(team, 400, round_form=form)
    begin_write()
    team = _team(team_id)
    counterparty = _counterparty(team, form.counterparty.data)
    now = utcnow()
    try:
        survey_round = counterparty_rounds.open_counterparty_round(
            team,
            counterparty,
            name=form.name.data.strip(),
            mode=form.mode.data,
            closes_at=organizations.day_end(
                organizations.zone_of(team.organization), form.closes_on.data
            ),
            now=now,
            actor=current_user,
            threshold=current_app.config["ANONYMITY_THRESHOLD"],
        )
        ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
        links = round_service.issue_links(
            survey_round,
            round_service.members_without_invitation(survey_round),
            now,
            ttl,
            kind="new",
            actor=current_user,
        )
    except round_service.RoundStateError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(_team(team_id), error.status, round_form=form)
    db.session.commit()
    return _links_page(team, survey_round, links)


def _links_page(
    team: Team, survey_round: SurveyRound, links: list[IssuedLink]
) -> ResponseReturnValue:
    base = current_app.config["PUBLIC_BASE_URL"]
    return render_template(
        "coach/counterparties/links.html",
        team=team,
        survey_round=survey_round,
        links=[(link.participant.display_name, f"{base}/s/{link.token}") for link in links],
    )


def _counterparty_round(team: Team, round_id: int) -> SurveyRound:
    """A counterparty round that includes the team, else 404."""
    survey_round = db.session.get(SurveyRound, round_id)
    if (
        survey_round is None
        or survey_round.counterparty_id is None
        or not round_service.includes_team(survey_round, team)
    ):
        abort(404)
    return survey_round


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/gap/")
def gap(team_id: int, round_id: int) -> ResponseReturnValue:
    """Us vs them: the team's released profile beside its released rating of the counterparty."""
    team = viewable_team(team_id)
    survey_round = _counterparty_round(team, round_id)
    threshold = current_app.config["ANONYMITY_THRESHOLD"]
    try:
        view = gap_views.gap_view(team, survey_round, threshold, date.today())
    except RatingSuppressed as suppressed:
        return render_template(
            "coach/counterparties/gap.html",
            team=team,
            survey_round=survey_round,
            suppressed=suppressed,
            view=None,
            no_self=None,
            threshold=threshold,
        )
    except gap_views.NoSelfResults as missing:
        ledger.record_now(
            gap_views.counterparty_shown(
                "dashboard",
                survey_round,
                missing.rating.rating,
                missing.rating.snapshot_id,
                team.name,
            ),
            user=current_user,
        )
        return render_template(
            "coach/counterparties/gap.html",
            team=team,
            survey_round=survey_round,
            suppressed=None,
            view=None,
            no_self=missing.rating.rating,
            threshold=threshold,
        )
    for shown in view.shown("dashboard", survey_round):
        ledger.record_now(shown, user=current_user)
    return render_template(
        "coach/counterparties/gap.html",
        team=team,
        survey_round=survey_round,
        suppressed=None,
        view=view,
        no_self=None,
        s=view.context.counterparty_sentences,
        threshold=threshold,
    )


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/gap.svg")
def gap_chart(team_id: int, round_id: int) -> ResponseReturnValue:
    """The gap chart as SVG (404 while the gap view shows no figure)."""
    team = viewable_team(team_id)
    survey_round = _counterparty_round(team, round_id)
    try:
        view = gap_views.gap_view(
            team, survey_round, current_app.config["ANONYMITY_THRESHOLD"], date.today()
        )
    except (RatingSuppressed, gap_views.NoSelfResults):
        abort(404)
    return Response(gap_views.gap_svg(view), mimetype="image/svg+xml")
