"""Survey rounds: create, edit or delete while draft, open, extend, close; invitations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import InstrumentVersion, Organization, Participant, SurveyRound, Team
from survey.models.counterparty import COUNTERPARTY_INSTRUMENT_KEY
from survey.services import jobs as job_views
from survey.services import organizations, releases, rounds
from survey.services.instruments import list_instruments
from survey.services.invitation_links import links_csv
from survey.web.admin import bp
from survey.web.admin.actions import Refused, change, refuse, require_confirmation
from survey.web.admin.forms import ExtendForm, RoundForm, choices
from survey.web.auth.forms import EmptyForm
from survey.web.authz import admin_invitation, admin_org, admin_round

#: The background jobs the round page lists (those it starts, and its automatic reminder).
ROUND_JOB_KINDS = ("invitations", "reminders", "scheduled_reminders", "reports")
DRAFT_NOT_EXTENDED = "A draft round has not opened yet: open it first, then extend it."


def _round_form(org: Organization, **prefill: object) -> RoundForm:
    """The round form with the instruments and the organization's active teams to choose from."""
    form = RoundForm(formdata=None, **prefill) if prefill else RoundForm()
    form.instrument.choices = choices(
        [
            (i.id, f"{i.label}: {i.title}")
            for i in list_instruments()
            if i.key != COUNTERPARTY_INSTRUMENT_KEY  # only counterparty rounds use it (#16)
        ]
    )
    form.teams.choices = choices([(t.id, t.name) for t in org.teams if t.archived_at is None])
    return form


def _plan(org: Organization, form: RoundForm) -> dict[str, object]:
    """The form's round as keyword arguments of :func:`rounds.create_draft`/``update_draft``."""
    zone = organizations.zone_of(org)
    instrument = db.session.get(InstrumentVersion, form.instrument.data)
    teams: Sequence[Team] = [
        team
        for team in (db.session.get(Team, team_id) for team_id in form.teams.data)
        if team is not None and team.organization_id == org.id
    ]
    if instrument is None:
        raise Refused(_("That instrument is no longer stored; choose another."), 400)
    return {
        "name": form.name.data.strip(),
        "instrument": instrument,
        "teams": teams,
        "mode": form.mode.data,
        "opens_at": organizations.day_start(zone, form.opens_on.data)
        if form.opens_on.data
        else None,
        "closes_at": organizations.day_end(zone, form.closes_on.data),
        "now": utcnow(),
        "actor": current_user,
    }


@bp.route("/<int:org_id>/rounds/new", methods=["GET", "POST"])
def new_round(org_id: int) -> ResponseReturnValue:
    """Create a draft round for some teams with an instrument version, dates and a mode."""
    org = admin_org(org_id)
    form = _round_form(org)

    def again(status: int) -> ResponseReturnValue:
        return render_template("admin/round_new.html", org=org, form=form, edit=None), status

    if request.method == "GET" or not form.validate_on_submit():
        return again(400 if request.method == "POST" else 200)

    def work() -> tuple[str, str]:
        plan = _plan(org, form)
        survey_round = rounds.create_draft(org, **plan)  # type: ignore[arg-type]
        return (
            _(
                "Round %(name)s created as a draft. Generate the links, then open it.",
                name=survey_round.name,
            ),
            _round_url(org, survey_round.id),
        )

    return change(work, refused=again)


@bp.route("/<int:org_id>/rounds/<int:round_id>/edit", methods=["GET", "POST"])
def edit_round(org_id: int, round_id: int) -> ResponseReturnValue:
    """Rename, re-scope or re-date a draft round; refused (409) once it has opened."""
    org = admin_org(org_id)
    survey_round = admin_round(org, round_id)
    if survey_round.status != "draft":
        return refuse(Refused(_not_draft(survey_round, "changed")), _page_again(org, round_id))
    if request.method == "GET":
        zone = organizations.zone_of(org)
        form = _round_form(
            org,
            name=survey_round.name,
            instrument=survey_round.instrument_id,
            teams=[team.id for team in survey_round.teams],
            mode=survey_round.mode,
            opens_on=survey_round.opens_at.astimezone(zone).date()
            if survey_round.opens_at
            else None,
            closes_on=organizations.closing_day(zone, survey_round.closes_at)
            if survey_round.closes_at
            else None,
        )
    else:
        form = _round_form(org)

    def again(status: int) -> ResponseReturnValue:
        return render_template(
            "admin/round_new.html", org=org, form=form, edit=admin_round(org, round_id)
        ), status

    if request.method == "GET" or not form.validate():
        return again(400 if request.method == "POST" else 200)

    def work() -> str:
        changed = rounds.update_draft(admin_round(org, round_id), **_plan(org, form))  # type: ignore[arg-type]
        return (
            _("Changed: %(value)s.", value="; ".join(changed))
            if changed
            else _("Nothing was changed.")
        )

    return change(work, done=_round_url(org, round_id), refused=again)


@bp.post("/<int:org_id>/rounds/<int:round_id>/delete")
def delete_round(org_id: int, round_id: int) -> ResponseReturnValue:
    """Delete a draft round and its links, once "I understand" is ticked."""
    org = admin_org(org_id)
    try:
        require_confirmation(_("delete the round"))
    except Refused as error:
        return refuse(error, _page_again(org, round_id))

    def work() -> str:
        survey_round = admin_round(org, round_id)
        name = survey_round.name
        rounds.delete_draft(survey_round, actor=current_user)
        return _("Draft round %(name)s deleted.", name=name)

    return change(
        work, done=url_for("admin.overview", org_id=org.id), refused=_page_again(org, round_id)
    )


def _not_draft(survey_round: SurveyRound, what: str) -> str:
    return _(
        "Round %(name)s has opened, so it can no longer be %(what)s: only a draft round can. "
        "Extend it to move its closing date.",
        name=survey_round.name,
        what=what,
    )


@bp.get("/<int:org_id>/rounds/<int:round_id>")
def round(org_id: int, round_id: int) -> ResponseReturnValue:
    """Status, completion per team, open invitations and the round's actions."""
    org = admin_org(org_id)
    survey_round = admin_round(org, round_id)
    return _render_round(org, survey_round)


def _render_round(
    org: Organization,
    survey_round: SurveyRound,
    status: int = 200,
    extend_form: ExtendForm | None = None,
) -> ResponseReturnValue:
    return render_template(
        "admin/round.html",
        org=org,
        survey_round=survey_round,
        completion=rounds.completion_by_team(survey_round),
        counts=rounds.round_counts(survey_round),
        # Anonymous rounds: whoever sees results never sees who has (not) answered.
        open_invitations=(
            [] if survey_round.mode == "anonymous" else rounds.open_invitations(survey_round)
        ),
        uninvited=len(rounds.members_without_invitation(survey_round)),
        extend_form=extend_form or ExtendForm(formdata=None),
        button=EmptyForm(),
        smtp=bool(current_app.config.get("SMTP_URL")),
        now=utcnow(),
        released=releases.release_overview(survey_round),
        threshold=current_app.config["ANONYMITY_THRESHOLD"],
        release_step=current_app.config["RELEASE_STEP"],
        release_while_open=current_app.config["RELEASE_WHILE_OPEN"],
        jobs=job_views.recent_for_round(survey_round, ROUND_JOB_KINDS),
    ), status


@bp.post("/<int:org_id>/rounds/<int:round_id>/open")
def open_round(org_id: int, round_id: int) -> ResponseReturnValue:
    """Start collecting answers."""
    org = admin_org(org_id)
    EmptyForm().validate_on_submit()
    return _change_state(org, round_id, rounds.open_round, "Round opened.")


@bp.post("/<int:org_id>/rounds/<int:round_id>/close")
def close_round(org_id: int, round_id: int) -> ResponseReturnValue:
    """Stop collecting answers, once the "I understand" box is ticked."""
    org = admin_org(org_id)
    try:
        require_confirmation(_("close the round"))
    except Refused as error:
        return refuse(error, _page_again(org, round_id))
    return _change_state(org, round_id, rounds.close_round, "Round closed.")


def _change_state(
    org: Organization,
    round_id: int,
    change_state: Callable[..., None],
    message: str,
) -> ResponseReturnValue:
    def work() -> str:
        change_state(admin_round(org, round_id), utcnow(), actor=current_user)
        return message

    return change(work, done=_round_url(org, round_id), refused=_page_again(org, round_id))


def _round_url(org: Organization, round_id: int) -> str:
    return url_for("admin.round", org_id=org.id, round_id=round_id)


def _page_again(org: Organization, round_id: int) -> Callable[[int], ResponseReturnValue]:
    """The round page, shown again with a refusal's status (the reason is flashed)."""
    return lambda status: _render_round(org, admin_round(org, round_id), status)


@bp.post("/<int:org_id>/rounds/<int:round_id>/extend")
def extend_round(org_id: int, round_id: int) -> ResponseReturnValue:
    """Move the closing date later (the end of the given day in the organization's zone)."""
    org = admin_org(org_id)
    survey_round = admin_round(org, round_id)
    if survey_round.status == "draft":  # the page offers no Extend: say why here
        return refuse(Refused(DRAFT_NOT_EXTENDED), _page_again(org, round_id))
    form = ExtendForm()
    if not form.validate():
        return _render_round(org, survey_round, 400, form)
    day = form.closes_on.data

    def work() -> str:
        closes_at = organizations.day_end(organizations.zone_of(org), day)
        rounds.extend_round(
            admin_round(org, round_id),
            closes_at,
            utcnow(),
            actor=current_user,
            shown_as=f"end of {day.isoformat()} {org.timezone}",
        )
        return _(
            "The round now closes at the end of %(day)s (%(timezone)s).",
            day=day.isoformat(),
            timezone=org.timezone,
        )

    def again(status: int) -> ResponseReturnValue:
        return _render_round(org, admin_round(org, round_id), 400, form)

    return change(work, done=_round_url(org, round_id), refused=again)


@bp.post("/<int:org_id>/rounds/<int:round_id>/links.csv")
def new_links(org_id: int, round_id: int) -> ResponseReturnValue:
    """Issue links to members without one and download them as CSV (shown only now)."""
    org = admin_org(org_id)
    EmptyForm().validate_on_submit()
    begin_write()
    survey_round = admin_round(org, round_id)
    people = rounds.members_without_invitation(survey_round)
    return _download_links(survey_round, people, "new")


@bp.post("/<int:org_id>/rounds/<int:round_id>/reissue.csv")
def reissue_open_links(org_id: int, round_id: int) -> ResponseReturnValue:
    """Fresh links for everyone who has not submitted; their old links stop working.

    Needs the "I understand" box; refused in anonymous rounds (409, the same
    for everyone) and in closed rounds.
    """
    org = admin_org(org_id)
    if admin_round(org, round_id).mode == "anonymous":
        return _anonymous_refusal(org, admin_round(org, round_id))
    try:
        require_confirmation(_("re-issue every unanswered link"))
        begin_write()
        survey_round = admin_round(org, round_id)
        _refuse_when_closed(survey_round)
    except Refused as error:
        return refuse(error, _page_again(org, round_id))
    people = [i.participant for i in rounds.open_invitations(survey_round)]
    people += rounds.members_without_invitation(survey_round)
    return _download_links(survey_round, people, "all-open")


def _refuse_when_closed(survey_round: SurveyRound) -> None:
    if survey_round.status == "closed":
        raise Refused(
            "This round is closed: nobody can answer, so no links are re-issued. "
            "Open it again first (extend it if its closing date has passed)."
        )


def _anonymous_refusal(org: Organization, survey_round: SurveyRound) -> ResponseReturnValue:
    """The answer to any per-person link action in an anonymous round (the same for everyone)."""
    db.session.rollback()
    flash(
        "This round is anonymous: who has or has not answered is never shown, so links cannot"
        " be re-issued or withdrawn person by person. Email reminders go to everyone who has"
        " not answered without naming them.",
        "error",
    )
    return redirect(url_for("admin.round", org_id=org.id, round_id=survey_round.id)), 409


def _download_links(
    survey_round: SurveyRound, people: list[Participant], kind: str
) -> ResponseReturnValue:
    """Issue the links, commit, and send them as a CSV: the only time they are shown."""
    ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
    links = rounds.issue_links(survey_round, people, utcnow(), ttl, kind=kind, actor=current_user)
    db.session.commit()
    body = links_csv(links, current_app.config["PUBLIC_BASE_URL"])
    filename = f"invitation-links-{survey_round.id}-{kind}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/<int:org_id>/rounds/<int:round_id>/invitations/<int:invitation_id>/revoke")
def revoke_invitation(org_id: int, round_id: int, invitation_id: int) -> ResponseReturnValue:
    """Withdraw one link, once the "I understand" box is ticked (refused in anonymous rounds)."""
    org = admin_org(org_id)
    if admin_round(org, round_id).mode == "anonymous":
        return _anonymous_refusal(org, admin_round(org, round_id))
    try:
        require_confirmation(_("withdraw the link"))
    except Refused as error:
        return refuse(error, _page_again(org, round_id))

    def work() -> str:
        invitation = admin_invitation(admin_round(org, round_id), invitation_id)
        rounds.revoke_invitation(invitation, utcnow(), actor=current_user)
        return _("The link of %(name)s was withdrawn.", name=invitation.participant.display_name)

    return change(work, done=_round_url(org, round_id), refused=_page_again(org, round_id))


@bp.post("/<int:org_id>/rounds/<int:round_id>/invitations/<int:invitation_id>/reissue")
def reissue_invitation(org_id: int, round_id: int, invitation_id: int) -> ResponseReturnValue:
    """A new link for one person (shown once); the old one stops working, the draft is kept."""
    org = admin_org(org_id)
    EmptyForm().validate_on_submit()
    begin_write()
    survey_round = admin_round(org, round_id)
    if survey_round.mode == "anonymous":
        return _anonymous_refusal(org, survey_round)
    invitation = admin_invitation(survey_round, invitation_id)
    person = invitation.participant
    try:
        _refuse_when_closed(survey_round)
        if invitation.submitted_at is not None or person.erased_at is not None:
            raise Refused(_("This person has already submitted or was erased."))
        if not rounds.includes_team(survey_round, person.team):
            raise Refused(
                _(
                    "%(name)s has moved to %(team)s, which is not part of this round: no new "
                    "link is issued.",
                    name=person.display_name,
                    team=person.team.name,
                )
            )
    except Refused as error:
        return refuse(error, _page_again(org, round_id))
    ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
    [link] = rounds.issue_links(
        survey_round, [person], utcnow(), ttl, kind=f"re-issued, member #{person.id}",
        actor=current_user,
    )  # fmt: skip
    db.session.commit()
    url = f"{current_app.config['PUBLIC_BASE_URL']}/s/{link.token}"
    return render_template(
        "admin/link.html", org=org, survey_round=survey_round, link=link, url=url
    )


@bp.post("/<int:org_id>/rounds/<int:round_id>/email/<any(invitations, reminders):kind>")
def email_round(org_id: int, round_id: int, kind: str) -> ResponseReturnValue:
    """Email links to members without one, or reminders to everyone who has not answered.

    The sending is a background job (:mod:`survey.jobs.tasks`); its progress
    and outcome show on the round page. The job commits the links first and
    sends with no transaction open (see :mod:`survey.services.emailing`).
    """
    from survey.jobs import enqueue, tasks

    org = admin_org(org_id)
    EmptyForm().validate_on_submit()
    if not current_app.config.get("SMTP_URL"):
        flash(tasks.NO_SMTP, "error")
        return redirect(url_for("admin.round", org_id=org.id, round_id=round_id)), 303
    survey_round = admin_round(org, round_id)
    task = tasks.send_reminders if kind == "reminders" else tasks.send_invitations
    enqueue(
        task,
        survey_round.id,
        current_user.id,
        organization_id=org.id,
        round_id=survey_round.id,
        created_by_id=current_user.id,
    )
    if kind == "reminders":
        flash(_("Sending reminders in the background: see Background jobs below."), "info")
    else:
        flash(_("Sending invitations in the background: see Background jobs below."), "info")
    return redirect(url_for("admin.round", org_id=org.id, round_id=round_id)), 303
