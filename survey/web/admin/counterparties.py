"""Admin pages of counterparties: list, add, edit, delete, and open a counterparty round.

An admin opens a counterparty round for any active team of the organization;
the round then has the usual round page, where its links are downloaded or
emailed like any round's.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Counterparty, Organization, Team
from survey.services import counterparties, counterparty_rounds, organizations
from survey.services import rounds as round_service
from survey.web.admin import bp
from survey.web.admin.forms import choices
from survey.web.authz import admin_org
from survey.web.counterparty_forms import (
    CounterpartyForm,
    CounterpartyRoundForm,
    DeleteCounterpartyForm,
    first_problem,
)


def _counterparty(org: Organization, counterparty_id: int) -> Counterparty:
    """A counterparty of the organization, else 404."""
    counterparty = db.session.get(Counterparty, counterparty_id)
    if counterparty is None or counterparty.organization_id != org.id:
        abort(404)
    return counterparty


def _round_form(org: Organization, **prefill: object) -> CounterpartyRoundForm:
    form = CounterpartyRoundForm(formdata=None, **prefill) if prefill else CounterpartyRoundForm()
    form.team.choices = choices([(t.id, t.name) for t in org.teams if t.archived_at is None])
    form.counterparty.choices = choices(
        [(c.id, c.name) for c in counterparties.counterparties_of(org)]
    )
    return form


def _page(
    org: Organization,
    status: int = 200,
    *,
    create_form: CounterpartyForm | None = None,
    round_form: CounterpartyRoundForm | None = None,
) -> ResponseReturnValue:
    today = utcnow().astimezone(organizations.zone_of(org)).date()
    listed = counterparties.counterparties_of(org)
    return render_template(
        "admin/counterparties/index.html",
        org=org,
        listed=listed,
        used={c.id: counterparties.rounds_of_counterparty(c) for c in listed},
        kind_label=counterparties.kind_label,
        create_form=create_form or CounterpartyForm(formdata=None),
        round_form=round_form
        or _round_form(org, closes_on=today + timedelta(days=14), mode="confidential"),
    ), status


@bp.get("/<int:org_id>/counterparties/")
def counterparties_page(org_id: int) -> ResponseReturnValue:
    """The organization's counterparties and the rounds that rate them."""
    return _page(admin_org(org_id))


@bp.post("/<int:org_id>/counterparties")
def create_counterparty(org_id: int) -> ResponseReturnValue:
    """Add a counterparty (audited)."""
    org = admin_org(org_id)
    form = CounterpartyForm()
    if not form.validate():
        flash(first_problem(form), "error")
        return _page(org, 400, create_form=form)
    begin_write()
    try:
        counterparty = counterparties.create_counterparty(
            admin_org(org_id),
            name=form.name.data,
            kind=form.kind.data,
            deal_name=form.deal_name.data,
            actor=current_user,
        )
    except counterparties.CounterpartyError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(admin_org(org_id), error.status, create_form=form)
    name = counterparty.name
    db.session.commit()
    flash(_("Counterparty %(name)s added.", name=name), "info")
    return redirect(url_for("admin.counterparties_page", org_id=org_id)), 303


@bp.route("/<int:org_id>/counterparties/<int:counterparty_id>/edit", methods=["GET", "POST"])
def edit_counterparty(org_id: int, counterparty_id: int) -> ResponseReturnValue:
    """Change a counterparty's name, kind or deal (audited)."""
    org = admin_org(org_id)
    counterparty = _counterparty(org, counterparty_id)
    if request.method == "GET":
        form = CounterpartyForm(
            formdata=None,
            name=counterparty.name,
            kind=counterparty.kind,
            deal_name=counterparty.deal_name or "",
        )
        return _edit_page(org, counterparty, form)
    form = CounterpartyForm()
    if not form.validate():
        flash(first_problem(form), "error")
        return _edit_page(org, counterparty, form, 400)
    begin_write()
    try:
        changed = counterparties.update_counterparty(
            _counterparty(admin_org(org_id), counterparty_id),
            name=form.name.data,
            kind=form.kind.data,
            deal_name=form.deal_name.data,
            actor=current_user,
        )
    except counterparties.CounterpartyError as error:
        db.session.rollback()
        flash(str(error), "error")
        org = admin_org(org_id)
        return _edit_page(org, _counterparty(org, counterparty_id), form, error.status)
    db.session.commit()
    flash(
        _("Changed: %(value)s.", value="; ".join(changed))
        if changed
        else _("Nothing was changed."),
        "info",
    )
    return redirect(url_for("admin.counterparties_page", org_id=org_id)), 303


def _edit_page(
    org: Organization, counterparty: Counterparty, form: CounterpartyForm, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "admin/counterparties/edit.html",
        org=org,
        counterparty=counterparty,
        form=form,
        delete_form=DeleteCounterpartyForm(formdata=None),
        used=counterparties.rounds_of_counterparty(counterparty),
    ), status


@bp.post("/<int:org_id>/counterparties/<int:counterparty_id>/delete")
def delete_counterparty(org_id: int, counterparty_id: int) -> ResponseReturnValue:
    """Delete a counterparty no round rates, once "I understand" is ticked (audited)."""
    org = admin_org(org_id)
    counterparty = _counterparty(org, counterparty_id)
    confirm = DeleteCounterpartyForm()
    if not (confirm.validate() and confirm.confirm.data):
        flash(
            _("Nothing was deleted: tick \u201cI understand\u201d to delete the counterparty."),
            "error",
        )
        return _edit_page(org, counterparty, CounterpartyForm(formdata=None), 400)
    begin_write()
    try:
        counterparty = _counterparty(admin_org(org_id), counterparty_id)
        name = counterparty.name
        counterparties.delete_counterparty(counterparty, actor=current_user)
    except counterparties.CounterpartyError as error:
        db.session.rollback()
        flash(str(error), "error")
        org = admin_org(org_id)
        return _edit_page(
            org, _counterparty(org, counterparty_id), CounterpartyForm(formdata=None), error.status
        )
    db.session.commit()
    flash(_("Counterparty %(name)s deleted.", name=name), "info")
    return redirect(url_for("admin.counterparties_page", org_id=org_id)), 303


@bp.post("/<int:org_id>/counterparty-rounds")
def open_counterparty_round(org_id: int) -> ResponseReturnValue:
    """Open a round in which one team rates a counterparty; then its round page (links there)."""
    org = admin_org(org_id)
    form = _round_form(org)
    if not form.validate():
        flash(first_problem(form), "error")
        return _page(org, 400, round_form=form)
    begin_write()
    org = admin_org(org_id)
    team = db.session.get(Team, form.team.data or 0)
    if team is None or team.organization_id != org.id:
        db.session.rollback()
        flash(_("Team: choose one of the organization's teams."), "error")
        return _page(org, 400, round_form=form)
    counterparty = _counterparty(org, form.counterparty.data)
    try:
        survey_round = counterparty_rounds.open_counterparty_round(
            team,
            counterparty,
            name=form.name.data.strip(),
            mode=form.mode.data,
            closes_at=organizations.day_end(organizations.zone_of(org), form.closes_on.data),
            now=utcnow(),
            actor=current_user,
            threshold=current_app.config["ANONYMITY_THRESHOLD"],
        )
    except round_service.RoundStateError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(admin_org(org_id), error.status, round_form=form)
    round_id, name = survey_round.id, survey_round.name
    db.session.commit()
    flash(
        _(
            "Round %(name)s is open: %(team)s rates %(counterparty)s. Download or email the "
            "links below.",
            name=name,
            team=team.name,
            counterparty=counterparty.name,
        ),
        "info",
    )
    return redirect(url_for("admin.round", org_id=org_id, round_id=round_id)), 303
