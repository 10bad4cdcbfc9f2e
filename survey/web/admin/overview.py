"""The organization overview, the audit log and the anonymity ledger."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from survey.services import access, audit, ledger, organizations, rounds
from survey.web.admin import bp
from survey.web.admin.forms import TeamForm
from survey.web.authz import admin_org
from survey.web.inputs import InputError, date_arg


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
    org = admin_org(org_id)
    all_rounds = rounds.rounds_of(org)
    return render_template(
        "admin/overview.html",
        org=org,
        members=organizations.member_counts(org),
        rounds=[(r, rounds.round_counts(r)) for r in all_rounds],
        coaches=access.org_coaches(org.id),
        team_form=TeamForm(),
    )


@bp.get("/<int:org_id>/audit")
def audit_log(org_id: int) -> ResponseReturnValue:
    """Page through the audit log, filtered by action and date."""
    org = admin_org(org_id)
    action = request.args.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        raise InputError("action: choose one of the listed actions.")
    since = date_arg("since")
    until = date_arg("until")
    page = request.args.get("page", default=1, type=int) or 1
    result = audit.page_of_events(
        org.id,
        action=action,
        since=since,
        until=until + timedelta(days=1) if until else None,
        page=page,
    )
    return render_template(
        "admin/audit.html",
        org=org,
        result=result,
        actions=audit.ACTIONS,
        action=action,
        since=request.args.get("since", ""),
        until=request.args.get("until", ""),
    )


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
