"""Background jobs seen from the admin pages: status (HTML and JSON), list, download.

Only admins of the job's organization see a job, whoever of them started it;
anyone else gets the same 403/404 as for the organization's other pages.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, render_template, send_file
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from survey.extensions import db
from survey.models import Job, Organization
from survey.services import jobs
from survey.web.admin import bp
from survey.web.authz import admin_org

#: What each kind of job is called on the pages.
JOB_LABELS = {
    "invitations": "Email invitations",
    "reminders": "Email reminders",
    "scheduled_reminders": "Reminder before closing (automatic)",
    "reports": "Team reports",
    "export": "Export to a file",
    "webhook": "Webhook delivery",
}


@bp.context_processor
def _job_helpers() -> dict[str, Any]:
    return {
        "describe": jobs.describe,
        "job_summary": jobs.summary,
        "job_problems": jobs.problems,
        "job_downloadable": jobs.downloadable,
        "job_labels": JOB_LABELS,
    }


def _job(org: Organization, job_id: int) -> Job:
    job = jobs.organization_job(org, job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/<int:org_id>/jobs")
def job_list(org_id: int) -> ResponseReturnValue:
    """The organization's newest background jobs."""
    org = admin_org(org_id)
    recent = db.session.scalars(
        select(Job)
        .where(Job.organization_id == org.id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(50)
    ).all()
    return render_template("admin/jobs.html", org=org, jobs=recent)


@bp.get("/<int:org_id>/jobs/<int:job_id>/status")
def job_status(org_id: int, job_id: int) -> ResponseReturnValue:
    """The job's state as JSON (polled by static/jobs.js)."""
    job = _job(admin_org(org_id), job_id)
    response = jsonify(jobs.status(job))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:org_id>/jobs/<int:job_id>/download")
def job_download(org_id: int, job_id: int) -> ResponseReturnValue:
    """The file a finished job made (an export), to an admin of its organization."""
    org = admin_org(org_id)
    job = _job(org, job_id)
    path = jobs.downloadable(job)
    if path is None:
        abort(404)
    if jobs.outdated_by_erasure(job):
        return render_template(
            "admin/jobs.html",
            org=org,
            jobs=[job],
            refusal="A member was erased after this file was made; prepare a new export.",
        ), 410
    result = job.result or {}
    return send_file(
        path,
        mimetype=str(result.get("media_type") or "application/octet-stream"),
        as_attachment=True,
        download_name=str(result.get("download_name") or path.name),
        max_age=0,
    )
