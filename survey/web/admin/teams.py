"""Teams and their members, one by one or from a CSV file; coach assignments."""

from __future__ import annotations

import base64
import binascii

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Organization, User
from survey.services import access, accounts, audit, organizations
from survey.services.member_csv import MemberCsvResult, parse_member_csv
from survey.web.admin import bp
from survey.web.admin.actions import Refused, change
from survey.web.admin.forms import (
    AssignCoachForm,
    ConfirmUploadForm,
    MemberForm,
    TeamForm,
    UploadForm,
    choices,
)
from survey.web.auth.forms import EmptyForm
from survey.web.authz import admin_org, admin_team


@bp.post("/<int:org_id>/teams")
def create_team(org_id: int) -> ResponseReturnValue:
    """Create a team."""
    org = admin_org(org_id)
    form = TeamForm()
    if not form.validate():
        problem = "Give the team a name (at most 200 characters)."
        if form.name.data and len(form.name.data) <= 200 and form.name.data.strip():
            problem = f"Team name: {form.name.errors[0]}"
        flash(problem, "error")
        return redirect(url_for("admin.overview", org_id=org.id)), 303
    name = form.name.data.strip()
    begin_write()
    try:
        team = organizations.create_team(org, name)
    except organizations.TeamNameTaken as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.overview", org_id=org.id)), 303
    audit.record("team_created", actor=current_user, organization_id=org.id, target=name)
    db.session.commit()
    flash(f"Team {name} created.", "info")
    return redirect(url_for("admin.team", org_id=org.id, team_id=team.id)), 303


@bp.get("/<int:org_id>/teams/<int:team_id>")
def team(org_id: int, team_id: int) -> ResponseReturnValue:
    """A team's members, coaches, and forms to change them."""
    org = admin_org(org_id)
    the_team = admin_team(org, team_id)
    return _render_team(org, the_team)


def _render_team(org: Organization, the_team, status: int = 200, **forms) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    coach_form = forms.get("coach_form") or AssignCoachForm()
    coaches = access.org_coaches(org.id)
    coach_form.coach.choices = choices([(c.id, c.email) for c in coaches])
    assigned = [c for c in coaches if any(t.id == the_team.id for t in access.coached_teams(c))]
    return render_template(
        "admin/team.html",
        org=org,
        team=the_team,
        members=organizations.members_of(the_team),
        assigned=assigned,
        rename_form=forms.get("rename_form") or TeamForm(formdata=None, name=the_team.name),
        member_form=forms.get("member_form") or MemberForm(formdata=None),
        coach_form=coach_form,
        button=EmptyForm(),
    ), status


@bp.post("/<int:org_id>/teams/<int:team_id>/rename")
def rename_team(org_id: int, team_id: int) -> ResponseReturnValue:
    """Rename a team."""
    org = admin_org(org_id)
    the_team = admin_team(org, team_id)
    form = TeamForm()
    if not form.validate():
        return _render_team(org, the_team, 400, rename_form=form)
    old, new = the_team.name, form.name.data.strip()
    begin_write()
    the_team = admin_team(org, team_id)
    try:
        organizations.rename_team(the_team, new)
    except organizations.TeamNameTaken as error:
        db.session.rollback()
        form.name.errors = [str(error)]
        return _render_team(org, admin_team(org, team_id), 400, rename_form=form)
    audit.record(
        "team_renamed", actor=current_user, organization_id=org.id, target=f"{old} -> {new}"
    )
    db.session.commit()
    flash(f"Renamed to {new}.", "info")
    return redirect(url_for("admin.team", org_id=org.id, team_id=team_id)), 303


@bp.post("/<int:org_id>/teams/<int:team_id>/archive")
def archive_team(org_id: int, team_id: int) -> ResponseReturnValue:
    """Archive a team: it leaves new rounds; its answers are kept."""
    org = admin_org(org_id)
    EmptyForm().validate_on_submit()

    def work() -> str:
        the_team = admin_team(org, team_id)
        if the_team.archived_at is None:
            the_team.archived_at = utcnow()
            audit.record(
                "team_archived", actor=current_user, organization_id=org.id, target=the_team.name
            )
        return f"Team {the_team.name} archived. Its answers are kept."

    return change(
        work, done=url_for("admin.overview", org_id=org.id), refused=_page_again(org, team_id)
    )


def _page_again(org: Organization, team_id: int):  # type: ignore[no-untyped-def]
    """The team page, shown again with a refusal's status (the reason is flashed)."""
    return lambda status: _render_team(org, admin_team(org, team_id), status)


@bp.post("/<int:org_id>/teams/<int:team_id>/members")
def add_member(org_id: int, team_id: int) -> ResponseReturnValue:
    """Add one member."""
    org = admin_org(org_id)
    the_team = admin_team(org, team_id)
    form = MemberForm()
    valid = form.validate()
    name = (form.name.data or "").strip() or None
    email = (form.email.data or "").strip().lower() or None
    if valid and not (name or email):
        form.name.errors = ["Give a name, an email, or both."]
        valid = False
    if valid and email and email in organizations.org_emails(org):
        form.email.errors = [f"{email} is already a member of this organization."]
        valid = False
    if not valid:
        return _render_team(org, the_team, 400, member_form=form)
    begin_write()
    the_team = admin_team(org, team_id)
    organizations.add_participant(the_team, name=name, email=email)
    audit.record(
        "members_added",
        actor=current_user,
        organization_id=org.id,
        target=the_team.name,
        detail="1 member",
    )
    db.session.commit()
    flash(f"Added {name or email}.", "info")
    return redirect(url_for("admin.team", org_id=org.id, team_id=team_id)), 303


@bp.route("/<int:org_id>/members/upload", methods=["GET", "POST"])
def upload_members(org_id: int) -> ResponseReturnValue:
    """Upload a CSV (name, email, team) and preview it; nothing is saved yet."""
    org = admin_org(org_id)
    form = UploadForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("admin/upload.html", org=org, form=form, result=None), status
    data = form.file.data.read()
    result = _parse(org, data)
    confirm = ConfirmUploadForm(formdata=None, payload=base64.b64encode(data).decode("ascii"))
    return render_template(
        "admin/upload.html", org=org, form=form, result=result, confirm=confirm
    ), 200 if result.ok else 400


@bp.post("/<int:org_id>/members/upload/confirm")
def confirm_upload(org_id: int) -> ResponseReturnValue:
    """Save a previewed CSV: all rows or, if anything is wrong now, none."""
    org = admin_org(org_id)
    form = ConfirmUploadForm()
    if not form.validate():
        abort(400)
    try:
        data = base64.b64decode(form.payload.data, validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    begin_write()
    result = _parse(org, data)
    if not result.ok:
        db.session.rollback()
        return render_template(
            "admin/upload.html", org=org, form=UploadForm(), result=result, confirm=None
        ), 400
    teams = {t.name.lower(): t for t in org.teams}
    for row in result.rows:
        organizations.add_participant(teams[row.team.lower()], name=row.name, email=row.email)
    audit.record(
        "members_added",
        actor=current_user,
        organization_id=org.id,
        target="CSV upload",
        detail=f"{len(result.rows)} members",
    )
    db.session.commit()
    flash(f"Added {len(result.rows)} members.", "info")
    return redirect(url_for("admin.overview", org_id=org.id)), 303


def _parse(org: Organization, data: bytes) -> MemberCsvResult:
    known = [t.name for t in org.teams if t.archived_at is None]
    return parse_member_csv(data, known_teams=known, existing_emails=organizations.org_emails(org))


@bp.post("/<int:org_id>/teams/<int:team_id>/coaches")
def assign_coach(org_id: int, team_id: int) -> ResponseReturnValue:
    """Let one of the organization's coaches see this team."""
    org = admin_org(org_id)
    the_team = admin_team(org, team_id)
    form = AssignCoachForm()
    form.coach.choices = choices([(c.id, c.email) for c in access.org_coaches(org.id)])
    if not form.validate():
        return _render_team(org, the_team, 400, coach_form=form)

    def work() -> str:
        coach = db.session.get(User, form.coach.data)
        team = admin_team(org, team_id)
        if coach is None or not access.is_member_of(coach, org.id):
            raise Refused("That coach is no longer part of this organization.")
        if not accounts.assign_coach(coach, team):
            return f"{coach.email} already sees {team.name}."
        audit.record(
            "coach_assigned",
            actor=current_user,
            organization_id=org.id,
            target=f"{coach.email} -> {team.name}",
        )
        return f"{coach.email} now sees {team.name}'s dashboard and reports."

    return change(
        work,
        done=url_for("admin.team", org_id=org.id, team_id=team_id),
        refused=_page_again(org, team_id),
    )


@bp.post("/<int:org_id>/teams/<int:team_id>/coaches/<int:user_id>/remove")
def unassign_coach(org_id: int, team_id: int, user_id: int) -> ResponseReturnValue:
    """Stop a coach seeing this team."""
    org = admin_org(org_id)
    EmptyForm().validate_on_submit()

    def work() -> str:
        team = admin_team(org, team_id)
        coach = db.session.get(User, user_id)
        if coach is None:
            abort(404)
        if accounts.unassign_coach(coach.id, team.id):
            audit.record(
                "coach_unassigned",
                actor=current_user,
                organization_id=org.id,
                target=f"{coach.email} -> {team.name}",
            )
        return f"{coach.email} no longer sees {team.name}."

    return change(
        work,
        done=url_for("admin.team", org_id=org.id, team_id=team_id),
        refused=_page_again(org, team_id),
    )
