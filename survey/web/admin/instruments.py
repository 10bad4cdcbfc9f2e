"""Instruments: upload a YAML file (every problem shown), list versions, preview the pages."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from analytics.instrument_parser import InstrumentError
from survey.extensions import db
from survey.models import InstrumentVersion, Organization
from survey.services import instruments
from survey.services.questionnaire import build_pages
from survey.web.admin import bp
from survey.web.admin.actions import Refused, change
from survey.web.admin.forms import InstrumentUploadForm
from survey.web.authz import admin_org
from survey.web.inputs import InputError


@bp.get("/<int:org_id>/instruments")
def instruments_page(org_id: int) -> ResponseReturnValue:
    """Stored instrument versions and the upload form."""
    return _render_list(admin_org(org_id))


def _render_list(
    org: Organization,
    status: int = 200,
    form: InstrumentUploadForm | None = None,
    problems: list[str] | None = None,
) -> ResponseReturnValue:
    return render_template(
        "admin/instruments.html",
        org=org,
        rows=instruments.list_instruments(),
        form=form or InstrumentUploadForm(formdata=None),
        problems=problems or [],
        limit=instruments.MAX_UPLOAD_BYTES,
    ), status


@bp.post("/<int:org_id>/instruments")
def upload_instrument(org_id: int) -> ResponseReturnValue:
    """Check an uploaded instrument file and store it as a new version (400 lists every problem)."""
    org = admin_org(org_id)
    form = InstrumentUploadForm()
    if not form.validate():
        return _render_list(org, 400, form)
    upload = form.file.data
    filename = instruments.upload_name(upload.filename)
    try:
        instrument = instruments.check_upload(
            upload.read(instruments.MAX_UPLOAD_BYTES + 1), filename
        )
    except InstrumentError as error:
        return _render_list(org, 400, form, [str(problem) for problem in error.problems])

    def work() -> tuple[str, str]:
        try:
            row, created = instruments.store_upload(
                instrument, actor=current_user, organization_id=org.id
            )
        except instruments.InstrumentConflict as error:
            raise Refused(
                _("%(filename)s: %(error)s.", filename=filename, error=error), 409
            ) from None
        message = (
            _(
                "Stored %(label)s: %(title)s. Check the preview, then choose it for a round.",
                label=row.label,
                title=row.title,
            )
            if created
            else f"{row.label} is already stored with this content; nothing changed."
        )
        return message, url_for("admin.instrument_preview", org_id=org.id, instrument_id=row.id)

    return change(work, refused=lambda status: _render_list(admin_org(org_id), status, form))


@bp.get("/<int:org_id>/instruments/<int:instrument_id>")
def instrument_preview(org_id: int, instrument_id: int) -> ResponseReturnValue:
    """One page of the questionnaire as a respondent sees it, read-only (``?page=N``)."""
    org = admin_org(org_id)
    row = db.session.get(InstrumentVersion, instrument_id)
    if row is None:
        abort(404)
    pages = build_pages(instruments.instrument_of(row))
    number = request.args.get("page", default=1, type=int)
    if number is None or not 1 <= number <= len(pages):
        raise InputError(f"page: choose a page from 1 to {len(pages)}.")
    return render_template(
        "admin/instrument_preview.html",
        org=org,
        row=row,
        instrument=instruments.instrument_of(row),
        page=pages[number - 1],
        total=len(pages),
    )
