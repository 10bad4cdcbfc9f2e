"""An organization's staff: invite coaches and admins, change roles, deactivate, remove.

Set-password links are committed first, then emailed with no transaction open;
without a mail server (or when sending fails) the link is shown once on the
page, to be passed on by hand. Which changes an admin may make is decided in
:mod:`survey.services.staff`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Organization, User
from survey.services import staff
from survey.services.emailing import DEFAULT_SENDER
from survey.services.mailer import (
    SmtpSettings,
    password_reset_message,
    send_messages,
    staff_invitation_message,
)
from survey.services.staff import IssuedLink, StaffRefused
from survey.web.admin import bp
from survey.web.admin.actions import Refused, change
from survey.web.auth.forms import EmptyForm
from survey.web.auth.links import link_url, smtp_settings
from survey.web.authz import admin_org
from survey.web.inputs import SingleLine

ROLE_CHOICES = [SelectChoice("coach", _l("Coach")), SelectChoice("admin", _l("Admin"))]


class InviteForm(FlaskForm):
    """Who to invite, and as what."""

    email = EmailField(
        _l("Email"), validators=[DataRequired(), SingleLine(), Email(), Length(max=320)]
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])


class RoleForm(FlaskForm):
    """A new role for one staff member."""

    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])


@bp.get("/<int:org_id>/staff")
def staff_page(org_id: int) -> ResponseReturnValue:
    """The organization's admins and coaches, and the invitation form."""
    return _render(admin_org(org_id))


def _render(org: Organization, status: int = 200, **forms: FlaskForm) -> ResponseReturnValue:
    return render_template(
        "admin/staff.html",
        org=org,
        members=staff.staff_of(org, current_user),
        invite_form=forms.get("invite_form") or InviteForm(formdata=None),
        role_form=RoleForm,
        button=EmptyForm(),
        mail=bool(current_app.config.get("SMTP_URL")),
        me=current_user.id,
    ), status


@bp.post("/<int:org_id>/staff/invite")
def invite_staff(org_id: int) -> ResponseReturnValue:
    """Invite a coach or an admin: a new account gets a one-time set-password link."""
    org = admin_org(org_id)
    form = InviteForm()
    if not form.validate():
        return _render(org, 400, invite_form=form)
    settings = smtp_settings()
    org_name, actor_email = org.name, current_user.email
    begin_write()
    try:
        invited = staff.invite(
            org, form.email.data, form.role.data, actor=current_user, now=utcnow()
        )
    except StaffRefused as error:
        db.session.rollback()
        form.email.errors = [error.message]
        return _render(org, error.status, invite_form=form)
    except IntegrityError:  # someone invited the same email at the same moment
        db.session.rollback()
        form.email.errors = ["This email was just invited by someone else; reload the page."]
        return _render(org, 409, invite_form=form)
    db.session.commit()
    role = form.role.data
    if invited.link is None:
        flash(
            _(
                "%(email)s is now %(role)s of %(org_name)s. %(note)s",
                email=invited.email,
                role=role,
                org_name=org_name,
                note=invited.note,
            ).strip(),
            "info",
        )
        return redirect(url_for("admin.staff_page", org_id=org_id)), 303
    return _deliver(
        org_id,
        invited.link,
        settings,
        lambda url: staff_invitation_message(
            to=invited.email,
            organization=org_name,
            role=role,
            invited_by=actor_email,
            link=url,
            expires_at=invited.link.expires_at,  # type: ignore[union-attr]
            sender=settings.sender or DEFAULT_SENDER,  # type: ignore[union-attr]
        ),
    )


@bp.post("/<int:org_id>/staff/<int:user_id>/link")
def staff_link(org_id: int, user_id: int) -> ResponseReturnValue:
    """A new set-password link for someone (the older ones stop working)."""
    org = admin_org(org_id)
    EmptyForm().validate_on_submit()
    settings = smtp_settings()
    org_name, actor_email = org.name, current_user.email
    begin_write()
    try:
        link = staff.issue_link(org, _member(org, user_id), actor=current_user, now=utcnow())
    except StaffRefused as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render(org, error.status)
    role = staff.membership(org, user_id).role  # type: ignore[union-attr]
    db.session.commit()

    def message(url: str):  # type: ignore[no-untyped-def]
        sender = settings.sender or DEFAULT_SENDER  # type: ignore[union-attr]
        if link.purpose == "invite":
            return staff_invitation_message(
                to=link.email,
                organization=org_name,
                role=role,
                invited_by=actor_email,
                link=url,
                expires_at=link.expires_at,
                sender=sender,
            )
        return password_reset_message(
            to=link.email, link=url, expires_at=link.expires_at, sender=sender
        )

    return _deliver(org_id, link, settings, message)


def _deliver(
    org_id: int,
    link: IssuedLink,
    settings: SmtpSettings | None,
    build: Callable[[str], object],
) -> ResponseReturnValue:
    """Email the committed link, or show it once when there is no mail server or sending fails."""
    url = link_url(link.token)
    problem = _("No mail server is configured (NEGOSCOPE_SMTP_URL).")
    if settings is not None:
        try:
            report = send_messages(settings, [build(url)])  # type: ignore[list-item]
        except ValueError as error:
            problem = _("The email could not be written: %(error)s", error=error)
        else:
            if report.sent:
                flash(
                    _(
                        "A set-password link was emailed to %(email)s. It works once, until "
                        "%(value)s UTC.",
                        email=link.email,
                        value=format(link.expires_at, "%Y-%m-%d %H:%M"),
                    ),
                    "info",
                )
                return redirect(url_for("admin.staff_page", org_id=org_id)), 303
            problem = _("The email could not be sent: %(value)s", value=report.failed[0][1])
    return render_template(
        "admin/staff_link.html",
        org=admin_org(org_id),
        link=link,
        url=url,
        problem=problem,
    )


def _member(org: Organization, user_id: int) -> User:
    """A user with a role in the organization, else :class:`StaffRefused` (404)."""
    user = db.session.get(User, user_id)
    if user is None or staff.membership(org, user_id) is None:
        raise StaffRefused(_("No such person on this organization's staff."), 404)
    return user


def _staff_change(
    org_id: int, user_id: int, work: Callable[[Organization, User], str]
) -> ResponseReturnValue:
    """Run one staff change in a write transaction (see :func:`.actions.change`)."""
    org = admin_org(org_id)

    def run() -> str:
        try:
            return work(org, _member(org, user_id))
        except StaffRefused as error:
            raise Refused(error.message, error.status) from None

    return change(
        run,
        done=url_for("admin.staff_page", org_id=org_id),
        refused=lambda status: _render(admin_org(org_id), status),
    )


@bp.post("/<int:org_id>/staff/<int:user_id>/role")
def staff_role(org_id: int, user_id: int) -> ResponseReturnValue:
    """Make someone an admin or a coach of the organization."""
    org = admin_org(org_id)
    form = RoleForm()
    if not form.validate():
        flash(_("Choose a role: coach or admin."), "error")
        return _render(org, 400)

    def work(org: Organization, user: User) -> str:
        old = staff.change_role(org, user, form.role.data, actor=current_user)
        if old is None:
            return _("%(email)s already is %(role)s.", email=user.email, role=form.role.data)
        return _(
            "%(email)s is now %(role)s (was %(old)s).",
            email=user.email,
            role=form.role.data,
            old=old,
        )

    return _staff_change(org_id, user_id, work)


@bp.post("/<int:org_id>/staff/<int:user_id>/deactivate")
def staff_deactivate(org_id: int, user_id: int) -> ResponseReturnValue:
    """Stop someone logging in; their sessions end at once."""
    EmptyForm().validate_on_submit()

    def work(org: Organization, user: User) -> str:
        staff.deactivate(org, user, actor=current_user, now=utcnow())
        return _("%(email)s is deactivated and logged out everywhere.", email=user.email)

    return _staff_change(org_id, user_id, work)


@bp.post("/<int:org_id>/staff/<int:user_id>/reactivate")
def staff_reactivate(org_id: int, user_id: int) -> ResponseReturnValue:
    """Let a deactivated person log in again."""
    EmptyForm().validate_on_submit()

    def work(org: Organization, user: User) -> str:
        staff.reactivate(org, user, actor=current_user)
        return _("%(email)s can log in again.", email=user.email)

    return _staff_change(org_id, user_id, work)


@bp.post("/<int:org_id>/staff/<int:user_id>/remove")
def staff_remove(org_id: int, user_id: int) -> ResponseReturnValue:
    """Take away someone's role in this organization (and their teams here)."""
    EmptyForm().validate_on_submit()

    def work(org: Organization, user: User) -> str:
        staff.remove(org, user, actor=current_user)
        return _("%(email)s no longer has a role in %(name)s.", email=user.email, name=org.name)

    return _staff_change(org_id, user_id, work)
