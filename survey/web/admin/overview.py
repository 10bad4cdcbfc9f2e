"""The organization overview and time zone, the audit log and the anonymity ledger."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.i18n import LANGUAGE_NAMES
from survey.models import Organization
from survey.services import access, audit, ledger, organizations, rounds
from survey.web.admin import bp
from survey.web.admin.actions import Refused, change
from survey.web.admin.forms import LanguageForm, TeamForm, TimezoneForm
from survey.web.authz import admin_org
from survey.web.inputs import InputError, date_arg


@bp.app_template_filter("local_time")
def local_time(when: datetime | None, org: Organization, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as local time in the organization's zone ("—" for none)."""
    if when is None:
        return "\u2014"
    return organizations.local_text(organizations.zone_of(org), when, fmt)


@bp.app_template_filter("closing")
def closing(when: datetime | None, org: Organization) -> str:
    """A closing instant in the organization's zone: "end of 2027-02-15" or date and time."""
    if when is None:
        return "\u2014"
    return organizations.closing_text(organizations.zone_of(org), when)


@bp.get("/")
def index() -> ResponseReturnValue:
    """The organizations the user administers (straight to it when there is one)."""
    orgs = access.admin_organizations(current_user)
    if not orgs:
        abort(403)
    if len(orgs) == 1:
        return redirect(url_for("admin.overview", org_id=orgs[0].id))
    return render_template("admin/index.html", orgs=orgs)


@bp.get("/<int:org_id>/")
def overview(org_id: int) -> ResponseReturnValue:
    """Teams, members, rounds and completion at a glance."""
    return _render_overview(admin_org(org_id))


def _render_overview(
    org: Organization,
    status: int = 200,
    timezone_form: TimezoneForm | None = None,
    language_form: LanguageForm | None = None,
) -> ResponseReturnValue:
    all_rounds = rounds.rounds_of(org)
    return render_template(
        "admin/overview.html",
        org=org,
        members=organizations.member_counts(org),
        rounds=[(r, rounds.round_counts(r)) for r in all_rounds],
        coaches=access.org_coaches(org.id),
        team_form=TeamForm(formdata=None),
        timezone_form=timezone_form or TimezoneForm(formdata=None, timezone=org.timezone),
        timezones=organizations.timezone_names(),
        language_form=language_form or LanguageForm(formdata=None, language=org.language),
    ), status


@bp.post("/<int:org_id>/timezone")
def set_timezone(org_id: int) -> ResponseReturnValue:
    """Use another time zone for the organization's dates."""
    org = admin_org(org_id)
    form = TimezoneForm()
    if not form.validate():
        return _render_overview(org, 400, form)
    name = form.timezone.data.strip()

    def work() -> str:
        try:
            changed = organizations.set_timezone(admin_org(org_id), name, actor=current_user)
        except organizations.UnknownTimezone as error:
            raise Refused(str(error), 400) from None
        if changed:
            return _("Dates are now read and shown in %(zone)s.", zone=name)
        return _("Already %(zone)s.", zone=name)

    return change(
        work,
        done=url_for("admin.overview", org_id=org.id),
        refused=lambda status: _render_overview(admin_org(org_id), status, form),
    )


@bp.post("/<int:org_id>/language")
def set_language(org_id: int) -> ResponseReturnValue:
    """Write the organization's invitation and reminder emails in another language."""
    org = admin_org(org_id)
    form = LanguageForm()
    if not form.validate():
        return _render_overview(org, 400, language_form=form)
    code = form.language.data

    def work() -> str:
        try:
            changed = organizations.set_language(admin_org(org_id), code, actor=current_user)
        except organizations.UnknownLanguage as error:
            raise Refused(str(error), 400) from None
        name = LANGUAGE_NAMES[code]
        if changed:
            return _(
                "Invitation and reminder emails are now written in %(language)s.", language=name
            )
        return _("Already %(language)s.", language=name)

    return change(
        work,
        done=url_for("admin.overview", org_id=org.id),
        refused=lambda status: _render_overview(admin_org(org_id), status, language_form=form),
    )


@bp.get("/<int:org_id>/audit")
def audit_log(org_id: int) -> ResponseReturnValue:
    """Page through the audit log, filtered by action and by days in the organization's zone."""
    org = admin_org(org_id)
    filters = _audit_filters(org)
    page = request.args.get("page", default=1, type=int) or 1
    result = audit.page_of_events(
        org.id, action=filters.action, since=filters.since, until=filters.until, page=page
    )
    query = {
        "action": filters.action or "",
        "since": request.args.get("since", ""),
        "until": request.args.get("until", ""),
    }
    return render_template(
        "admin/audit.html",
        org=org,
        result=result,
        events=audit.readable(org.id, result.events),
        actions=audit.ACTIONS,
        action=filters.action,
        since=query["since"],
        until=query["until"],
        query=query,
    )


def _audit_filters(org: Organization) -> audit.Filters:
    """The audit filters in the query string; 400 with a message for a bad one."""
    action = request.args.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        raise InputError("action: choose one of the listed actions.")
    zone = organizations.zone_of(org)
    since = date_arg("since")
    until = date_arg("until")
    return audit.Filters(
        action,
        organizations.day_start(zone, since.date()) if since else None,
        organizations.day_end(zone, until.date()) if until else None,
    )


@bp.get("/<int:org_id>/audit.csv")
def audit_csv(org_id: int) -> ResponseReturnValue:
    """The filtered audit log as CSV (times in the organization's zone); the export is logged."""
    org = admin_org(org_id)
    filters = _audit_filters(org)
    begin_write()
    audit.record(
        "audit_exported",
        actor=current_user,
        organization_id=org.id,
        detail=_describe(filters, org),
        remote_addr=request.remote_addr,
    )
    db.session.commit()
    zone = organizations.zone_of(org)
    filename = f"audit-log-{org.id}-{utcnow().astimezone(zone):%Y%m%d-%H%M}.csv"
    # Built whole, inside the request: a streamed body would outlive the request's session.
    return Response(
        "".join(audit.export_csv(org.id, filters, zone)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _describe(filters: audit.Filters, org: Organization) -> str:
    parts = [filters.action or "all actions"]
    if request.args.get("since"):
        parts.append(f"from {request.args['since']}")
    if request.args.get("until"):
        parts.append(f"to {request.args['until']}")
    return ", ".join(parts) + f" ({org.timezone})"


LEDGER_PAGE = 100


@bp.get("/<int:org_id>/ledger")
def anonymity_ledger(org_id: int) -> ResponseReturnValue:
    """What each staff user has been shown: snapshot, group and a hash of the figures."""
    org = admin_org(org_id)
    page = max(min(request.args.get("page", default=1, type=int) or 1, 10_000), 1)
    rows = ledger.entries(org.id, limit=LEDGER_PAGE + 1, offset=(page - 1) * LEDGER_PAGE)
    return render_template(
        "admin/ledger.html",
        org=org,
        rows=rows[:LEDGER_PAGE],
        page=page,
        more=len(rows) > LEDGER_PAGE,
    )
