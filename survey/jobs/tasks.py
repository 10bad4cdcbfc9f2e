"""The built-in jobs: invitation and reminder emails (and reminders that send
themselves before a round closes), every team's report, and exports to a file.

Each job takes ids, not rows, reads what it needs in its own transactions,
and keeps the rules of the work it replaces: links are committed before any
mail is sent and no write transaction is open while SMTP runs
(:mod:`survey.services.emailing`); an export is checked against the anonymity
ledger and recorded in it (:mod:`survey.services.export`).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from huey import crontab
from sqlalchemy import select, update

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.jobs.core import JobFailed, JobRun, enqueue, job_task, periodic_task
from survey.models import Organization, SurveyRound, User

NO_SMTP = "No SMTP server is configured (NEGOSCOPE_SMTP_URL)."
ROUND_GONE = "The round no longer exists."
SCHEDULER = "scheduled reminder"


# --------------------------------------------------------------------- emails
@job_task("invitations")
def send_invitations(run: JobRun, round_id: int, actor_id: int | None = None) -> dict[str, Any]:
    """Email a link to every member of the round's teams who has none yet."""
    return _email_round(run, round_id, reminder=False, actor_id=actor_id, actor_label=None)


@job_task("reminders")
def send_reminders(run: JobRun, round_id: int, actor_id: int | None = None) -> dict[str, Any]:
    """Email a reminder (with a fresh link) to everyone who has not answered."""
    return _email_round(run, round_id, reminder=True, actor_id=actor_id, actor_label=None)


@job_task("scheduled_reminders")
def send_scheduled_reminders(run: JobRun, round_id: int) -> dict[str, Any]:
    """The reminder a round sends by itself shortly before it closes."""
    return _email_round(run, round_id, reminder=True, actor_id=None, actor_label=SCHEDULER)


def _email_round(
    run: JobRun, round_id: int, *, reminder: bool, actor_id: int | None, actor_label: str | None
) -> dict[str, Any]:
    from survey.services import emailing, rounds
    from survey.services.mailer import parse_smtp_url

    smtp_url = current_app.config.get("SMTP_URL")
    if not smtp_url:
        raise JobFailed(NO_SMTP)
    try:
        settings = parse_smtp_url(smtp_url)
    except ValueError as error:  # its message never repeats the password
        raise JobFailed(str(error)) from None
    begin_write()
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        raise JobFailed(ROUND_GONE)
    anonymous, round_name = survey_round.mode == "anonymous", survey_round.name
    organization_id = survey_round.organization_id
    if reminder:
        people = [i.participant for i in rounds.open_invitations(survey_round)]
    else:
        people = rounds.members_without_invitation(survey_round)
    batch = emailing.prepare_emails(
        survey_round,
        people,
        reminder=reminder,
        sender=settings.sender,
        base_url=current_app.config["PUBLIC_BASE_URL"],
        now=utcnow(),
        ttl=timedelta(days=current_app.config["INVITATION_TTL_DAYS"]),
        threshold=current_app.config["ANONYMITY_THRESHOLD"],
    )
    db.session.commit()  # the links exist before any message carrying them is sent
    run.progress(0, len(batch.prepared))
    report = emailing.send_prepared(settings, batch, progress=run.progress)  # no transaction
    begin_write()
    emailing.record_outcome(
        batch,
        report,
        actor=db.session.get(User, actor_id) if actor_id else None,
        actor_label=actor_label,
        organization_id=organization_id,
        round_name=round_name,
    )
    db.session.commit()
    kind = "reminders" if reminder else "invitations"
    if anonymous and reminder and report.failed:
        # Naming a failed reminder's address would name someone who has not answered.
        found = [f"{len(report.failed)} reminders could not be sent."]
    else:
        found = [f"Not sent to {address}: {reason}" for address, reason in report.failed[:50]]
    return {"summary": f"{report.sent} {kind} sent.", "problems": found}


# ------------------------------------------------------- scheduled reminders
@periodic_task(crontab(minute="*/10"))
def queue_due_reminders() -> list[int]:
    """Every ten minutes: queue the reminder of each round that closes soon (once each)."""
    return queue_scheduled_reminders(utcnow())


def queue_scheduled_reminders(now: datetime) -> list[int]:
    """Queue a reminder job for every open round closing within the configured days.

    A round is claimed by setting ``scheduled_reminder_at`` in one conditional
    UPDATE, so two workers (or two runs) never both queue it. Nothing happens
    when no SMTP server is configured or ``REMINDER_DAYS_BEFORE_CLOSE`` is 0.
    Returns the ids of the jobs queued.
    """
    days = int(current_app.config.get("REMINDER_DAYS_BEFORE_CLOSE") or 0)
    if days <= 0 or not current_app.config.get("SMTP_URL"):
        return []
    due = db.session.execute(
        select(SurveyRound.id, SurveyRound.organization_id).where(
            SurveyRound.status == "open",
            SurveyRound.scheduled_reminder_at.is_(None),
            SurveyRound.closes_at.is_not(None),
            SurveyRound.closes_at > now,
            SurveyRound.closes_at <= now + timedelta(days=days),
            (SurveyRound.opens_at.is_(None)) | (SurveyRound.opens_at <= now),
        )
    ).all()
    db.session.commit()
    queued = []
    for round_id, organization_id in due:
        begin_write()
        claimed = db.session.execute(
            update(SurveyRound)
            .where(SurveyRound.id == round_id, SurveyRound.scheduled_reminder_at.is_(None))
            .values(scheduled_reminder_at=now)
        ).rowcount
        db.session.commit()
        if claimed == 1:
            queued.append(
                enqueue(
                    send_scheduled_reminders,
                    round_id,
                    organization_id=organization_id,
                    round_id=round_id,
                )
            )
    return queued


# -------------------------------------------------------------------- reports
@job_task("reports")
def render_reports(
    run: JobRun,
    round_id: int,
    out_dir: str,
    actor_label: str,
    processes: int | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """Every eligible team's PDF report of the round, in ``language``, into ``out_dir``."""
    from survey.services import report_batch, team_reports

    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        raise JobFailed(ROUND_GONE)
    threshold = current_app.config["ANONYMITY_THRESHOLD"]
    contexts, skipped = report_batch.contexts_for_round(
        survey_round, threshold, date.today(), language
    )
    snapshot_id = team_reports.fingerprint(survey_round)
    db.session.commit()
    run.progress(0, len(contexts))
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        run.progress(done)

    written = report_batch.render_all(contexts, Path(out_dir), processes, step)
    report_batch.record_reports(
        db.session.get(SurveyRound, round_id), snapshot_id, contexts, actor_label
    )
    db.session.commit()
    return {
        "summary": f"Wrote {len(written)} reports to {out_dir}.",
        "problems": [f"Skipped {name}: {reason}" for name, reason in skipped],
    }


# -------------------------------------------------------------------- exports
@job_task("export")
def export_file(
    run: JobRun,
    round_id: int,
    fmt: str,
    k: int,
    actor_id: int | None,
    remote_addr: str | None,
    actor_label: str | None = None,
) -> dict[str, Any]:
    """An anonymized export of the round written to a file for download later.

    The same checks as a direct download: the anonymity ledger refuses an
    export too close to an earlier one, and the export is recorded there under
    the staff member ``actor_id`` or, without one, ``actor_label`` (an API token).
    """
    from survey.services import jobs
    from survey.services.export import (
        MEDIA_TYPES,
        ExportError,
        export_round,
        record_export,
        stable_export_key,
    )

    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        raise JobFailed(ROUND_GONE)
    if survey_round.organization.export_key is None:
        begin_write()
        stable_export_key(db.session.get(Organization, survey_round.organization_id))
    db.session.commit()  # the export reads in a transaction (one snapshot) of its own
    media_type, suffix = MEDIA_TYPES[fmt]
    name = f"export-{run.job_id}-{secrets.token_hex(8)}.{suffix}"
    partial = jobs.files_dir() / f"{name}.part"
    try:
        result = export_round(
            db.session.get(SurveyRound, round_id), partial, fmt=fmt, k=k, bundle=True
        )
        db.session.rollback()
        begin_write()
        actor = db.session.get(User, actor_id) if actor_id else None
        record_export(
            db.session.get(SurveyRound, round_id),
            result,
            actor=actor,
            actor_label=None if actor else (actor_label or "background job"),
            remote_addr=remote_addr,
        )
        db.session.commit()
    except ExportError as error:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        raise JobFailed(str(error)) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(jobs.files_dir() / name)
    return {
        "summary": f"{result.rows} rows exported ({fmt}, k = {result.k}).",
        "file": name,
        "download_name": f"negoscope-export-round-{round_id}.{suffix}",
        "media_type": media_type,
    }


@periodic_task(crontab(minute="7"))
def remove_old_job_files() -> int:
    """Hourly: delete files jobs made longer ago than ``JOB_FILES_HOURS``."""
    from survey.services import jobs

    return jobs.remove_old_files(float(current_app.config["JOB_FILES_HOURS"]))
