"""Teams and their members (one by one, edited, moved, or from a CSV file); coach assignments."""

from __future__ import annotations

import base64
import binascii

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Organization, Participant, User
from survey.services import access, accounts, erasure, organizations
from survey.services.member_csv import MemberCsvResult, parse_member_csv
from survey.web.admin import bp
from survey.web.admin.actions import Refused, change
from survey.web.admin.forms import (
    AssignCoachForm,
    ConfirmUploadForm,
    MemberForm,
    MoveForm,
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
        problem = _("Give the team a name (at most 200 characters).")
        if form.name.data and len(form.name.data) <= 200 and form.name.data.strip():
            problem = _("Team name: %(value)s", value=form.name.errors[0])
        flash(problem, "error")
        return redirect(url_for("admin.overview", org_id=org.id)), 303
    name = form.name.data.strip()
    begin_write()
    try:
        team = organizations.new_team(org, name, actor=current_user)
    except organizations.TeamNameTaken as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.overview", org_id=org.id)), 303
    db.session.commit()
    flash(
        _(
            "Team %(name)s created. Add its members below, or upload many from a CSV file.",
            name=name,
        ),
        "info",
    )
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
    new = form.name.data.strip()
    begin_write()
    the_team = admin_team(org, team_id)
    try:
        organizations.rename_team(the_team, new, actor=current_user)
    except organizations.TeamNameTaken as error:
        db.session.rollback()
        form.name.errors = [str(error)]
        return _render_team(org, admin_team(org, team_id), 400, rename_form=form)
    db.session.commit()
    flash(_("Renamed to %(new)s.", new=new), "info")
    return redirect(url_for("admin.team", org_id=org.id, team_id=team_id)), 303


@bp.post("/<int:org_id>/teams/<int:team_id>/archive")
def archive_team(org_id: int, team_id: int) -> ResponseReturnValue:
    """Archive a team: it leaves new rounds; its answers are kept."""
    org = admin_org(org_id)
    EmptyForm().validate_on_submit()

    def work() -> str:
        the_team = admin_team(org, team_id)
        organizations.archive_team(the_team, utcnow(), actor=current_user)
        return _("Team %(name)s archived. Its answers are kept.", name=the_team.name)

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
    if not form.validate():
        return _render_team(org, the_team, 400, member_form=form)
    name, email = _details(form)

    def work() -> str:
        try:
            organizations.add_member(
                admin_team(org, team_id), name=name, email=email, actor=current_user
            )
        except organizations.MemberProblem as error:
            raise Refused(str(error), 400) from None
        return _("Added %(value)s.", value=name or email)

    return change(
        work,
        done=url_for("admin.team", org_id=org.id, team_id=team_id),
        refused=lambda status: _render_team(
            org, admin_team(org, team_id), status, member_form=form
        ),
    )


def _details(form: MemberForm) -> tuple[str | None, str | None]:
    """The form's name and (lowercased) email, None when blank."""
    name = (form.name.data or "").strip() or None
    email = (form.email.data or "").strip().lower() or None
    return name, email


def _member(org: Organization, participant_id: int) -> Participant:
    """A member of the organization who has not been erased, else 404."""
    person = erasure.participant_in(org, participant_id)
    if person is None or person.erased_at is not None:
        abort(404)
    return person


@bp.get("/<int:org_id>/participants/<int:participant_id>")
def member(org_id: int, participant_id: int) -> ResponseReturnValue:
    """One member: change the name or email, or move them to another team."""
    org = admin_org(org_id)
    return _render_member(org, _member(org, participant_id))


def _render_member(
    org: Organization,
    person: Participant,
    status: int = 200,
    edit_form: MemberForm | None = None,
    move_form: MoveForm | None = None,
) -> ResponseReturnValue:
    move_form = move_form or MoveForm(formdata=None)
    move_form.team.choices = _team_choices(org, person)
    return render_template(
        "admin/member.html",
        org=org,
        person=person,
        edit_form=edit_form or MemberForm(formdata=None, name=person.name, email=person.email),
        move_form=move_form,
    ), status


def _team_choices(org: Organization, person: Participant) -> list:  # type: ignore[type-arg]
    return choices(
        [(t.id, t.name) for t in org.teams if t.archived_at is None and t.id != person.team_id]
    )


@bp.post("/<int:org_id>/participants/<int:participant_id>/edit")
def edit_member(org_id: int, participant_id: int) -> ResponseReturnValue:
    """Change a member's name and email."""
    org = admin_org(org_id)
    person = _member(org, participant_id)
    form = MemberForm()
    if not form.validate():
        return _render_member(org, person, 400, edit_form=form)
    name, email = _details(form)

    def work() -> str:
        try:
            changed = organizations.edit_member(
                _member(org, participant_id), name=name, email=email, actor=current_user
            )
        except organizations.MemberProblem as error:
            raise Refused(str(error), 400) from None
        return (
            _("Changed the %(value)s.", value=" and ".join(changed))
            if changed
            else _("Nothing was changed.")
        )

    return change(
        work,
        done=url_for("admin.member", org_id=org.id, participant_id=participant_id),
        refused=lambda status: _render_member(
            org, _member(org, participant_id), status, edit_form=form
        ),
    )


@bp.post("/<int:org_id>/participants/<int:participant_id>/move")
def move_member(org_id: int, participant_id: int) -> ResponseReturnValue:
    """Move a member to another team; submitted answers stay with the team they were given in."""
    org = admin_org(org_id)
    person = _member(org, participant_id)
    form = MoveForm()
    form.team.choices = _team_choices(org, person)
    if not form.validate():
        return _render_member(org, person, 400, move_form=form)

    def work() -> str:
        target = admin_team(org, form.team.data)
        try:
            moved = organizations.move_member(
                _member(org, participant_id), target, now=utcnow(), actor=current_user
            )
        except organizations.MemberProblem as error:
            raise Refused(str(error), 400) from None
        message = _(
            "Moved from %(old_team)s to %(new_team)s.",
            old_team=moved.old_team,
            new_team=moved.new_team,
        )
        rounds_left = moved.links_ended + moved.links_deleted
        if rounds_left:
            message += " " + _(
                "%(new_team)s is not part of %(value)s, so the member's link there no longer "
                "works.",
                new_team=moved.new_team,
                value=", ".join(rounds_left),
            )
        return message + " Answers already submitted stay with the team they were given in."

    return change(
        work,
        done=url_for("admin.member", org_id=org.id, participant_id=participant_id),
        refused=lambda status: _render_member(
            org, _member(org, participant_id), status, move_form=form
        ),
    )


@bp.route("/<int:org_id>/members/upload", methods=["GET", "POST"])
def upload_members(org_id: int) -> ResponseReturnValue:
    """Upload a CSV (name, email, team) and preview it; nothing is saved yet."""
    org = admin_org(org_id)
    form = UploadForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("admin/upload.html", org=org, form=form, result=None), status
    data = form.file.data.read()
    move = bool(form.move.data)
    result = _parse(org, data, move)
    confirm = ConfirmUploadForm(
        formdata=None, payload=base64.b64encode(data).decode("ascii"), move="1" if move else ""
    )
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
    move = form.move.data == "1"
    begin_write()
    result = _parse(org, data, move)
    if not result.ok:
        db.session.rollback()
        return render_template(
            "admin/upload.html", org=org, form=UploadForm(), result=result, confirm=None
        ), 400
    try:
        added, moved = organizations.import_members(
            org, result.rows, now=utcnow(), actor=current_user
        )
    except organizations.MemberProblem as error:
        db.session.rollback()
        flash(str(error), "error")
        return render_template(
            "admin/upload.html", org=org, form=UploadForm(), result=None, confirm=None
        ), 409
    db.session.commit()
    flash(_("Added %(added)s members, moved %(moved)s.", added=added, moved=moved), "info")
    return redirect(url_for("admin.overview", org_id=org.id)), 303


def _parse(org: Organization, data: bytes, move: bool = False) -> MemberCsvResult:
    known = [t.name for t in org.teams if t.archived_at is None]
    return parse_member_csv(
        data, known_teams=known, existing_emails=organizations.member_teams(org), move=move
    )


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
            raise Refused(_("That coach is no longer part of this organization."))
        if not accounts.assign_coach(coach, team, actor=current_user):
            return _("%(email)s already sees %(name)s.", email=coach.email, name=team.name)
        return _(
            "%(email)s now sees %(name)s's dashboard and reports.",
            email=coach.email,
            name=team.name,
        )

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
        accounts.unassign_coach(coach.id, team.id, actor=current_user)
        return _("%(email)s no longer sees %(name)s.", email=coach.email, name=team.name)

    return change(
        work,
        done=url_for("admin.team", org_id=org.id, team_id=team_id),
        refused=_page_again(org, team_id),
    )
