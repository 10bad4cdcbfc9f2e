"""The coach's session kit pages: the action plan, the facilitator agenda, the deal worksheet.

Every page is about one team in one round whose results are released, for the
team's coaches and the organization's admins only (as the dashboard). The
agenda and the worksheet show what the report context already holds, so the
dashboard, these pages and the PDF never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional

from reports.agenda import AGENDA_TITLE, agenda_intro, agenda_schedule
from reports.progress import FOLLOWUP_TITLE, TREND_TITLE, change_cell, trend_summary
from reports.worksheet import worksheet_parts
from survey.database import begin_write
from survey.extensions import db
from survey.models import Commitment, Counterparty, SurveyRound, Team
from survey.services import audit, commitments, counterparties, ledger, team_reports, worksheets
from survey.web.auth.forms import EmptyForm
from survey.web.coach.views import _Suppressed, _team_and_round, _view, bp
from survey.web.inputs import DateInRange, InputError, SingleLine

OWNER_ROLE_HINT = _l(
    "A role such as \u201caccount lead\u201d or \u201cbid manager\u201d, not a person's name: "
    "the report is shared with the whole team."
)


class CommitmentForm(FlaskForm):
    """One commitment: a play of the framework, an owner role and a due date."""

    play = SelectField(_l("Play"), validate_choice=False)
    owner_role = StringField(
        _l("Owner role"),
        validators=[Optional(), SingleLine()],
        description=OWNER_ROLE_HINT,
    )
    due_on = DateField(_l("Due date"), validators=[Optional(), DateInRange()])

    def fill_choices(self) -> CommitmentForm:
        """The framework's plays as the play choices."""
        self.play.choices = [("", "Choose a play")] + [(p.id, p.name) for p in commitments.plays()]
        return self

    def problem(self) -> str | None:
        """The first problem WTForms found (a date it cannot read, a control character)."""
        if self.due_on.raw_data and self.due_on.raw_data[0] and self.due_on.data is None:
            return _("Due date: give a date such as 2027-03-31.")
        for field in (self.owner_role, self.due_on):
            if field.errors:
                return _("%(text)s: %(value)s", text=field.label.text, value=field.errors[0])
        return None

    def entered(self) -> commitments.CommitmentInput:
        """What was typed, for the service to check."""
        return commitments.CommitmentInput(
            play_id=self.play.data or "",
            owner_role=self.owner_role.data or "",
            due_on=self.due_on.data,
        )


class WorksheetForm(FlaskForm):
    """A counterparty and a deal name (the counterparty's own when left empty)."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    counterparty = SelectField(_l("Counterparty"), coerce=int, validate_choice=False)
    deal = StringField(
        _l("Deal name"),
        validators=[Optional(), SingleLine()],
        description=_l("Leave empty to use the counterparty's deal name."),
    )


@dataclass(frozen=True)
class ActionPlan:
    """The commitments of a team in a round, and the form to add one (dashboard section)."""

    commitments: list[Commitment]
    form: CommitmentForm
    limit: int
    plays: dict[str, str]
    button: EmptyForm

    @property
    def full(self) -> bool:
        """Whether the plan holds the most commitments it may."""
        return len(self.commitments) >= self.limit


def action_plan(
    team: Team, survey_round: SurveyRound, form: CommitmentForm | None = None
) -> ActionPlan:
    """What the action plan section shows (the dashboard includes it)."""
    return ActionPlan(
        commitments=commitments.commitments_of(team, survey_round),
        form=(form or CommitmentForm(formdata=None)).fill_choices(),
        limit=commitments.max_commitments(),
        plays={p.id: p.name for p in commitments.plays()},
        button=EmptyForm(),
    )


#: Titles and wording the report's pages use, for the dashboard and the kit's pages.
KIT_WORDING = SimpleNamespace(
    AGENDA_TITLE=AGENDA_TITLE,
    TREND_TITLE=TREND_TITLE,
    FOLLOWUP_TITLE=FOLLOWUP_TITLE,
    trend_summary=trend_summary,
    change_cell=change_cell,
)


@bp.context_processor
def _kit_helpers() -> dict[str, object]:
    """What the dashboard's kit sections need (the coach blueprint's templates only)."""
    return {"action_plan": action_plan, "owner_role_hint": OWNER_ROLE_HINT, "kit": KIT_WORDING}


def _released(team: Team, survey_round: SurveyRound):  # type: ignore[no-untyped-def]
    """The team's view, or the "no results yet" page as an early response (409)."""
    if survey_round.counterparty_id is not None:
        abort(404)  # a counterparty round has its own pages
    try:
        return _view(team, survey_round), None
    except _Suppressed as suppressed:
        return None, (suppressed.page, 409)


def _commitment(team: Team, survey_round: SurveyRound, commitment_id: int) -> Commitment:
    commitment = db.session.get(Commitment, commitment_id)
    if (
        commitment is None
        or commitment.team_id != team.id
        or commitment.round_id != survey_round.id
    ):
        abort(404)
    return commitment


def _today(team: Team) -> date:
    return commitments.local_today(team)


def _plan_page(
    team: Team, survey_round: SurveyRound, form: CommitmentForm, status: int, problem: str
) -> ResponseReturnValue:
    return render_template(
        "coach/kit/commitments.html",
        team=team,
        survey_round=survey_round,
        plan=action_plan(team, survey_round, form),
        problem=problem,
    ), status


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/commitments")
def action_plan_page(team_id: int, round_id: int) -> ResponseReturnValue:
    """The team's commitments for the round, with the form to add one."""
    team, survey_round = _team_and_round(team_id, round_id)
    _view, early = _released(team, survey_round)
    if early is not None:
        return early
    return render_template(
        "coach/kit/commitments.html",
        team=team,
        survey_round=survey_round,
        plan=action_plan(team, survey_round),
        problem=None,
    )


@bp.post("/teams/<int:team_id>/rounds/<int:round_id>/commitments")
def add_commitment(team_id: int, round_id: int) -> ResponseReturnValue:
    """Record a commitment (at most three per team and round)."""
    team, survey_round = _team_and_round(team_id, round_id)
    _view, early = _released(team, survey_round)
    if early is not None:
        return early
    form = CommitmentForm()
    form.fill_choices()
    form.validate()
    problem = form.problem()
    if problem is not None:
        return _plan_page(team, survey_round, form, 400, problem)
    begin_write()
    try:
        commitments.add_commitment(
            team, survey_round, form.entered(), actor=current_user, today=_today(team)
        )
    except commitments.CommitmentRefused as refused:
        db.session.rollback()
        return _plan_page(team, survey_round, form, refused.status, refused.message)
    db.session.commit()
    flash(_("Commitment recorded. The team's next round shows it beside the change."), "info")
    return redirect(_dashboard_url(team, survey_round) + "#action-plan"), 303


@bp.route(
    "/teams/<int:team_id>/rounds/<int:round_id>/commitments/<int:commitment_id>",
    methods=["GET", "POST"],
)
def edit_commitment(team_id: int, round_id: int, commitment_id: int) -> ResponseReturnValue:
    """Change a commitment's play, owner role or due date."""
    team, survey_round = _team_and_round(team_id, round_id)
    _view, early = _released(team, survey_round)
    if early is not None:
        return early
    commitment = _commitment(team, survey_round, commitment_id)
    if request.method == "GET":
        form = CommitmentForm(
            formdata=None,
            play=commitment.play_id,
            owner_role=commitment.owner_role,
            due_on=commitment.due_on,
        ).fill_choices()
        return _edit_page(team, survey_round, commitment, form, 200, None)
    form = CommitmentForm().fill_choices()
    form.validate()
    problem = form.problem()
    if problem is not None:
        return _edit_page(team, survey_round, commitment, form, 400, problem)
    begin_write()
    commitment = _commitment(team, survey_round, commitment_id)
    try:
        changed = commitments.update_commitment(
            commitment, form.entered(), actor=current_user, today=_today(team)
        )
    except commitments.CommitmentRefused as refused:
        db.session.rollback()
        commitment = _commitment(team, survey_round, commitment_id)
        return _edit_page(team, survey_round, commitment, form, refused.status, refused.message)
    db.session.commit()
    flash(_("Commitment changed.") if changed else _("Nothing was changed."), "info")
    return redirect(_dashboard_url(team, survey_round) + "#action-plan"), 303


def _edit_page(
    team: Team,
    survey_round: SurveyRound,
    commitment: Commitment,
    form: CommitmentForm,
    status: int,
    problem: str | None,
) -> ResponseReturnValue:
    return render_template(
        "coach/kit/commitment_edit.html",
        team=team,
        survey_round=survey_round,
        commitment=commitment,
        form=form,
        problem=problem,
        hint=OWNER_ROLE_HINT,
    ), status


@bp.post("/teams/<int:team_id>/rounds/<int:round_id>/commitments/<int:commitment_id>/delete")
def delete_commitment(team_id: int, round_id: int, commitment_id: int) -> ResponseReturnValue:
    """Delete a commitment."""
    team, survey_round = _team_and_round(team_id, round_id)
    _view, early = _released(team, survey_round)
    if early is not None:
        return early
    begin_write()
    commitments.delete_commitment(
        _commitment(team, survey_round, commitment_id), actor=current_user
    )
    db.session.commit()
    flash(_("Commitment deleted."), "info")
    return redirect(_dashboard_url(team, survey_round) + "#action-plan"), 303


def _dashboard_url(team: Team, survey_round: SurveyRound) -> str:
    return url_for("coach.dashboard", team_id=team.id, round_id=survey_round.id)


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/agenda")
def agenda(team_id: int, round_id: int) -> ResponseReturnValue:
    """The facilitator agenda of a team session, printable (the PDF's agenda page)."""
    team, survey_round = _team_and_round(team_id, round_id)
    view, early = _released(team, survey_round)
    if early is not None:
        return early
    ledger.record_now(view.shown("dashboard", survey_round), user=current_user)
    context = view.context
    assert context.agenda is not None
    return render_template(
        "coach/kit/agenda.html",
        team=team,
        survey_round=survey_round,
        context=context,
        intro=agenda_intro(context.agenda),
        schedule=agenda_schedule(context.agenda),
    )


def _worksheet_form(team: Team) -> tuple[WorksheetForm, list[Counterparty]]:
    known = counterparties.counterparties_of(team.organization)
    form = WorksheetForm(request.args)
    form.counterparty.choices = [(c.id, c.name) for c in known]
    return form, known


def _worksheet_request(team: Team, survey_round: SurveyRound):  # type: ignore[no-untyped-def]
    """(form, counterparties, chosen counterparty, deal name, problem) from the query string."""
    form, known = _worksheet_form(team)
    if "counterparty" not in request.args:
        return form, known, None, None, None
    form.validate()
    chosen = next((c for c in known if c.id == form.counterparty.data), None)
    if chosen is None:
        return form, known, None, None, "Choose one of your organization's counterparties."
    if form.deal.errors:
        return form, known, chosen, None, f"Deal name: {form.deal.errors[0]}"
    try:
        deal = worksheets.clean_deal_name(form.deal.data, chosen)
    except worksheets.InvalidDealName as error:
        return form, known, chosen, None, str(error)
    if not form.deal.data:
        form.deal.data = deal
    return form, known, chosen, deal, None


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/worksheet")
def worksheet(team_id: int, round_id: int) -> ResponseReturnValue:
    """Pick a counterparty and a deal; then the printable worksheet for it."""
    team, survey_round = _team_and_round(team_id, round_id)
    view, early = _released(team, survey_round)
    if early is not None:
        return early
    form, known, chosen, deal, problem = _worksheet_request(team, survey_round)
    parts = None
    if chosen is not None and deal is not None:
        threshold = current_app.config["ANONYMITY_THRESHOLD"]
        result = worksheets.deal_worksheet(
            view.context, survey_round, team, chosen, deal, threshold
        )
        ledger.record_now(view.shown("dashboard", survey_round), user=current_user)
        for shown in result.shown("dashboard"):
            ledger.record_now(shown, user=current_user)
        parts = worksheet_parts(result.worksheet)
    return render_template(
        "coach/kit/worksheet.html",
        team=team,
        survey_round=survey_round,
        form=form,
        known=known,
        chosen=chosen,
        deal=deal,
        parts=parts,
        problem=problem,
        report_languages=team_reports.REPORT_LANGUAGES,
    ), (400 if problem else 200)


@bp.get("/teams/<int:team_id>/rounds/<int:round_id>/worksheet.pdf")
def worksheet_pdf(team_id: int, round_id: int) -> ResponseReturnValue:
    """The deal worksheet as a PDF download (audited, and recorded in the ledger)."""
    team, survey_round = _team_and_round(team_id, round_id)
    view, early = _released(team, survey_round)
    if early is not None:
        return early
    form, known, chosen, deal, problem = _worksheet_request(team, survey_round)
    if chosen is None or deal is None:
        return render_template(
            "coach/kit/worksheet.html",
            team=team,
            survey_round=survey_round,
            form=form,
            known=known,
            chosen=chosen,
            deal=deal,
            parts=None,
            problem=problem or "Choose a counterparty for the worksheet.",
        ), 400
    try:  # ?lang=fr: the PDF in another of the shipped languages
        language = team_reports.report_language(request.args.get("lang"))
    except ValueError as unknown:
        raise InputError(f"lang: {unknown}.") from None
    threshold = current_app.config["ANONYMITY_THRESHOLD"]
    result = worksheets.deal_worksheet(
        view.context, survey_round, team, chosen, deal, threshold, language
    )
    prepared_on = _today(team)
    pdf = worksheets.worksheet_pdf(result, survey_round.organization.name, prepared_on, language)
    shown = [view.shown("report", survey_round), *result.shown("report")]
    org_id, target = team.organization_id, f"{team.name} / {survey_round.name}"
    detail = f"deal {deal}, counterparty {chosen.name}"
    counterparty_id = chosen.id
    begin_write()
    audit.record(
        "worksheet_downloaded",
        actor=current_user,
        organization_id=org_id,
        target=target,
        detail=detail,
        remote_addr=request.remote_addr,
    )
    for entry in shown:
        ledger.record(entry, user=current_user)
    db.session.commit()
    suffix = "" if language == "en" else f"-{language}"
    filename = f"negoscope-worksheet-team-{team_id}-round-{round_id}-{counterparty_id}{suffix}.pdf"
    return current_app.response_class(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
