"""Admin downloads of anonymized exports, and erasing a member."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Organization, SurveyRound
from survey.services import erasure
from survey.services import jobs as job_views
from survey.services.export import (
    MEDIA_TYPES,
    ExportError,
    ExportRefused,
    export_round,
    record_export,
    stable_export_key,
)
from survey.web.admin import bp
from survey.web.authz import admin_org, admin_round

MIMETYPES = MEDIA_TYPES


class ExportForm(FlaskForm):
    """Format and k of an export."""

    format = RadioField(
        _l("Format"),
        choices=[
            SelectChoice("csv", _l("CSV: a zip with data.csv, codebook.csv and manifest.json")),
            SelectChoice("xlsx", _l("Excel: one workbook with data, codebook and manifest sheets")),
            SelectChoice(
                "parquet", _l("Parquet: a zip with data.parquet, codebook.json and manifest.json")
            ),
            SelectChoice(
                "sav",
                _l("SPSS: a zip with data.sav (variable and value labels), codebook, manifest"),
            ),
            SelectChoice(
                "dta",
                _l("Stata: a zip with data.dta (variable and value labels), codebook, manifest"),
            ),
        ],
        default="csv",
        validators=[DataRequired()],
    )
    k = IntegerField(
        _l("Smallest group size (k)"), validators=[InputRequired(), NumberRange(min=2, max=1000)]
    )


class EraseForm(FlaskForm):
    """An explicit confirmation."""

    confirm = BooleanField(
        _l("I understand that this cannot be undone."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


@bp.route("/<int:org_id>/rounds/<int:round_id>/export", methods=["GET", "POST"])
def export(org_id: int, round_id: int) -> ResponseReturnValue:
    """A form (GET), then the anonymized export as a download (POST)."""
    org = admin_org(org_id)
    survey_round = admin_round(org, round_id)
    threshold = int(current_app.config["ANONYMITY_THRESHOLD"])
    if request.method == "GET":
        form = ExportForm(formdata=None, k=threshold)
        return _render_export(org, survey_round, form, threshold)
    form = ExportForm()
    valid = form.validate_on_submit()
    if valid and form.k.data < threshold:
        form.k.errors = [f"k must be at least the anonymity threshold, {threshold}."]
        valid = False
    if not valid:
        return _render_export(org, survey_round, form, threshold, 400)
    fmt, k = form.format.data, int(form.k.data)
    if request.form.get("background"):
        return _export_in_background(org, survey_round, fmt, k)
    if org.export_key is None:
        begin_write()
        stable_export_key(admin_org(org_id))  # created once, in a short write transaction
    db.session.commit()  # the export reads in a transaction (one snapshot) of its own
    survey_round = admin_round(admin_org(org_id), round_id)
    folder = Path(tempfile.mkdtemp(prefix="negoscope-download-"))
    mimetype, suffix = MIMETYPES[fmt]
    out = folder / f"export.{suffix}"
    try:
        try:
            result = export_round(survey_round, out, fmt=fmt, k=k, bundle=True)
            db.session.rollback()
            begin_write()
            record_export(
                admin_round(admin_org(org_id), round_id),
                result,
                actor=current_user,
                remote_addr=request.remote_addr,
            )
        except ExportError as error:
            db.session.rollback()
            status = 409 if isinstance(error, ExportRefused) else 400
            org = admin_org(org_id)
            return _render_export(
                org, admin_round(org, round_id), form, threshold, status, refusal=str(error)
            )
        db.session.commit()
        handle = out.open("rb")  # stays readable after the folder is removed
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return send_file(
        handle,
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"negoscope-export-round-{round_id}.{suffix}",
        max_age=0,
    )


def _export_in_background(
    org: Organization, survey_round: SurveyRound, fmt: str, k: int
) -> ResponseReturnValue:
    """Queue the export as a job writing a file; the export page shows it, then its download."""
    from survey.jobs import enqueue, tasks

    enqueue(
        tasks.export_file,
        survey_round.id,
        fmt,
        k,
        current_user.id,
        request.remote_addr,
        organization_id=org.id,
        round_id=survey_round.id,
        created_by_id=current_user.id,
    )
    flash(_("The export is being prepared in the background: its download appears below."), "info")
    return redirect(url_for("admin.export", org_id=org.id, round_id=survey_round.id)), 303


def _render_export(
    org: Organization,
    survey_round: SurveyRound,
    form: ExportForm,
    threshold: int,
    status: int = 200,
    refusal: str | None = None,
) -> ResponseReturnValue:
    return render_template(
        "admin/export.html",
        org=org,
        survey_round=survey_round,
        form=form,
        threshold=threshold,
        refusal=refusal,
        jobs=job_views.recent_for_round(survey_round, ("export",)),
    ), status


@bp.route("/<int:org_id>/participants/<int:participant_id>/erase", methods=["GET", "POST"])
def erase_participant(org_id: int, participant_id: int) -> ResponseReturnValue:
    """What erasing a member does (GET), then the erasure once confirmed (POST)."""
    org = admin_org(org_id)
    person = erasure.participant_in(org, participant_id)
    if person is None:
        abort(404)
    form = EraseForm()
    if person.erased_at is not None:
        if request.method == "POST":
            flash(_("This member was already erased."), "info")
            return redirect(url_for("admin.team", org_id=org.id, team_id=person.team_id)), 303
        return render_template("admin/erase.html", org=org, person=person, plan=None, form=form)
    plan = erasure.erasure_plan([person])
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template(
            "admin/erase.html", org=org, person=person, plan=plan, form=form
        ), status
    team_id = person.team_id
    begin_write()
    org = admin_org(org_id)
    people = erasure.participants_by_id(org, [participant_id])
    if not people:
        db.session.rollback()
        flash(_("This member was already erased."), "info")
        return redirect(url_for("admin.team", org_id=org_id, team_id=team_id)), 303
    result = erasure.erase_participants(people, utcnow())
    erasure.record_erasure(org, result, actor=current_user, remote_addr=request.remote_addr)
    db.session.commit()
    flash(result.describe(), "info")
    return redirect(url_for("admin.team", org_id=org_id, team_id=team_id)), 303
