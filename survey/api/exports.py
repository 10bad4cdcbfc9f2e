"""API: anonymized exports as background jobs (start, follow, download).

An export is the job the export page starts (:func:`survey.jobs.tasks.export_file`):
the same anonymization, the same refusals (nothing released, too close to an
earlier export: the job fails with the reason) and the same audit and ledger
records. The file is given out while the job's files are kept, and not after
a member of the organization was erased (it may hold their answers).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint, abort

from survey.api import auth
from survey.api.common import refuse, round_of
from survey.api.schemas import ExportRequestSchema, JobSchema
from survey.extensions import db
from survey.models import Job, Organization
from survey.services import jobs
from survey.services.export import MEDIA_TYPES

blp = Blueprint(
    "exports",
    __name__,
    url_prefix="/api/v1/organizations",
    description="Anonymized exports, made by background jobs.",
)
blp.before_request(auth.authenticate)


def _job(org: Organization, job: Job) -> dict[str, Any]:
    status = jobs.status(job)
    status["download_url"] = (
        url_for("exports.download", org_id=org.id, job_id=job.id) if status["download"] else None
    )
    return status


@blp.route("/<int:org_id>/rounds/<int:round_id>/exports", methods=["POST"])
@blp.arguments(ExportRequestSchema)
@blp.response(202, JobSchema)
def start_export(data: dict[str, Any], org_id: int, round_id: int) -> dict[str, Any]:
    """Start an export of the round's released snapshot; follow the returned job.

    ``k`` (default: the anonymity threshold) may not be below the threshold.
    A refusal (nothing released yet, or too close to an earlier export) ends
    the job as failed, with the reason in its ``text``.
    """
    from survey.jobs import enqueue, tasks

    threshold = int(current_app.config["ANONYMITY_THRESHOLD"])
    org = auth.writable_organization(org_id)
    survey_round = round_of(org, round_id)
    k = data.get("k", threshold)
    if k < threshold:
        refuse(400, f"k must be at least the anonymity threshold, {threshold}.")
    job_id = enqueue(  # commits the write (and its audit entry) first
        tasks.export_file,
        survey_round.id,
        data["format"],
        k,
        None,
        request.remote_addr,
        auth.current_token().label,
        organization_id=org.id,
        round_id=survey_round.id,
    )
    org = auth.organization(org_id)
    job = jobs.organization_job(org, job_id)
    assert job is not None
    return _job(org, job)


def _export_job(org: Organization, job_id: int) -> Job:
    job = jobs.organization_job(org, job_id)
    if job is None:
        abort(404, message="No such job in this organization.")
    return job


@blp.route("/<int:org_id>/jobs/<int:job_id>")
@blp.response(200, JobSchema)
def job_status(org_id: int, job_id: int) -> dict[str, Any]:
    """A job's state: queued, running (with progress), done or failed (with the reason)."""
    org = auth.organization(org_id)
    job = _export_job(org, job_id)
    db.session.refresh(job)
    return _job(org, job)


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@blp.route("/<int:org_id>/jobs/<int:job_id>/download")
@blp.doc(
    responses={
        "200": {
            "description": "The export file: a zip (csv, parquet, sav, dta) or an xlsx workbook",
            "content": {media: _BINARY for media in sorted(set(dict(MEDIA_TYPES.values())))},
        }
    }
)
def download(org_id: int, job_id: int) -> ResponseReturnValue:
    """The file an export job made (404 until it is done; 410 once gone or outdated)."""
    org = auth.organization(org_id)
    job = _export_job(org, job_id)
    if job.kind != "export" or job.status != "done":
        abort(404, message="This job has no file to download (yet).")
    path = jobs.downloadable(job)
    if path is None:
        abort(410, message="The file is no longer kept; start a new export.")
    if jobs.outdated_by_erasure(job):
        abort(410, message="A member was erased after this export was made; start a new one.")
    result = job.result or {}
    return send_file(
        path,
        mimetype=str(result.get("media_type", "application/octet-stream")),
        as_attachment=True,
        download_name=str(result.get("download_name", path.name)),
        max_age=0,
    )
