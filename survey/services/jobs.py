"""What staff see of background jobs: status wording, the jobs of a page, files made.

The status text ("queued", "running 12 of 30", "done", "failed: ...") is
written here once and used by the pages, their JSON status endpoint and the
``negoscope job`` command.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import exists, select

from survey.extensions import db
from survey.models import Job, Organization, Participant, SurveyRound

#: How many of a page's jobs it lists (newest first).
RECENT = 5


def describe(job: Job) -> str:
    """The job's state in a few words, as every page and the CLI show it."""
    if job.status == "running":
        if job.progress_total:
            return f"running {job.progress_done} of {job.progress_total}"
        return "running"
    if job.status == "failed":
        return f"failed: {job.message or 'no reason was recorded'}"
    if job.status == "queued" and job.message:
        return f"queued ({job.message})"
    return job.status


def summary(job: Job) -> str | None:
    """The result's one-line summary (e.g. "3 invitations sent."), when done."""
    value = (job.result or {}).get("summary")
    return str(value) if value and job.status == "done" else None


def problems(job: Job) -> list[str]:
    """What the finished job could not do (e.g. addresses not reached), one line each."""
    return [str(line) for line in (job.result or {}).get("problems", [])]


def status(job: Job) -> dict[str, Any]:
    """The job as the status endpoint returns it (JSON)."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "text": describe(job),
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "finished": job.finished,
        "summary": summary(job),
        "problems": problems(job),
        "download": bool(downloadable(job)),
    }


def organization_job(org: Organization, job_id: int) -> Job | None:
    """The organization's job with this id; None for another organization's (or none)."""
    job = db.session.get(Job, job_id)
    return job if job is not None and job.organization_id == org.id else None


def recent_for_round(survey_round: SurveyRound, kinds: tuple[str, ...]) -> list[Job]:
    """The round's newest jobs of these kinds (the panel on the page that starts them)."""
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.round_id == survey_round.id, Job.kind.in_(kinds))
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(RECENT)
        )
    )


# --------------------------------------------------------------- files made
def files_dir() -> Path:
    """Where jobs write files for download (``JOB_FILES_DIR``, else ``instance/job-files``).

    Several hosts: a folder the web hosts and the worker hosts share.
    """
    folder = Path(current_app.config.get("JOB_FILES_DIR") or current_app.instance_path)
    if not current_app.config.get("JOB_FILES_DIR"):
        folder = folder / "job-files"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def downloadable(job: Job) -> Path | None:
    """The file a finished job made, if it is still there."""
    name = (job.result or {}).get("file") if job.status == "done" else None
    if not name or os.path.basename(name) != name:
        return None
    path = files_dir() / name
    return path if path.is_file() else None


def outdated_by_erasure(job: Job) -> bool:
    """Whether a member of the job's organization was erased after the file was made.

    Such a file may hold the erased person's answers, so it is no longer given out.
    """
    if job.finished_at is None or job.round_id is None:
        return False
    survey_round = db.session.get(SurveyRound, job.round_id)
    if survey_round is None:
        return True
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Participant.erased_at.is_not(None),
                    Participant.erased_at >= job.finished_at,
                    Participant.team.has(organization_id=survey_round.organization_id),
                )
            )
        )
    )


def remove_old_files(max_age_hours: float, now: float | None = None) -> int:
    """Delete job files older than ``max_age_hours``; returns how many were removed."""
    cutoff = (now if now is not None else time.time()) - max_age_hours * 3600
    removed = 0
    for path in files_dir().iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
