"""Background jobs (survey.jobs): enqueue, run, progress, failures, authorization,
scheduled reminders and exports to a file; on SQLite and PostgreSQL.

Most tests use the immediate queue (the job runs inside the request that
queues it); one runs a real Huey consumer against SQLite storage.
"""

from __future__ import annotations

import io
import signal
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.jobs import JobFailed, JobRun, RetryLater, enqueue, job_task, queue_of
from survey.jobs.core import UNEXPECTED
from survey.jobs.tasks import queue_scheduled_reminders
from survey.models import Disclosure, Job, Organization, Participant, SurveyRound
from survey.services import accounts, erasure, jobs
from tests.conftest import make_app
from tests.survey.accounts_helpers import PASSWORD, log_in
from tests.survey.respond_helpers import csrf_from
from tests.survey.test_email_admin import smtp_inbox  # noqa: F401  (fixture)
from tests.survey.test_export import build_export_world

SEEN: list[str] = []
ATTEMPTS: list[int] = []


@job_task("reports")
def count_to(run: JobRun, n: int) -> dict[str, object]:
    """A job that reports each step and what it saw of itself."""
    for step in range(1, n + 1):
        run.progress(step, n)
        SEEN.append(jobs.describe(db.session.get(Job, run.job_id)))
    return {"summary": f"counted to {n}"}


@job_task("reports")
def breaks(run: JobRun, clear: bool) -> None:
    if clear:
        raise JobFailed("The round no longer exists.")
    raise RuntimeError("internal detail /srv/secret.py line 12")


@job_task("webhook", retries=2)
def flaky(run: JobRun) -> dict[str, object]:
    """Fails its first attempt (as a webhook endpoint answering 503 would)."""
    ATTEMPTS.append(run.job_id)
    if len(ATTEMPTS) == 1:
        raise RetryLater("HTTP 503 from the endpoint")
    return {"summary": "delivered"}


def _org(app: Flask) -> int:
    with app.app_context():
        org = Organization(name="Jobs Org")
        db.session.add(org)
        db.session.commit()
        return org.id


def test_enqueue_runs_the_job_and_records_progress_and_result(app: Flask) -> None:
    org_id = _org(app)
    SEEN.clear()
    with app.app_context():
        job_id = enqueue(count_to, 3, organization_id=org_id)
        job = db.session.get(Job, job_id)
        assert SEEN == ["running 1 of 3", "running 2 of 3", "running 3 of 3"]
        assert (job.status, job.result, job.attempts) == ("done", {"summary": "counted to 3"}, 1)
        assert job.started_at is not None and job.finished_at >= job.started_at
        assert jobs.describe(job) == "done" and jobs.summary(job) == "counted to 3"


def test_failures_are_recorded_with_a_message_and_no_stack_trace(app: Flask) -> None:
    org_id = _org(app)
    with app.app_context():
        unexpected = db.session.get(Job, enqueue(breaks, False, organization_id=org_id))
        clear = db.session.get(Job, enqueue(breaks, True, organization_id=org_id))
        assert jobs.describe(unexpected) == f"failed: {UNEXPECTED}"
        assert "secret" not in unexpected.message and "Traceback" not in unexpected.message
        assert jobs.describe(clear) == "failed: The round no longer exists."
        assert clear.finished_at is not None and clear.attempts == 1


def test_a_job_with_retries_is_tried_again(app: Flask) -> None:
    org_id = _org(app)
    ATTEMPTS.clear()
    with app.app_context():
        job = db.session.get(Job, enqueue(flaky, organization_id=org_id))
        assert (job.status, job.attempts, job.message) == ("done", 2, None)
        assert [job.id, job.id] == ATTEMPTS


def test_a_real_worker_runs_queued_jobs_from_the_queue_storage(
    database_url: str, tmp_path: Path
) -> None:
    """Queued by the web process, run by a consumer, seen through the jobs table.

    The queue is Huey's SQLite file beside the SQLite database, and Huey's PostgreSQL
    storage (its ``huey_*`` tables) in the PostgreSQL database.
    """
    postgres = database_url.startswith("postgresql")
    jobs_url = database_url if postgres else f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    app = make_app(database_url, tmp_path, JOBS_URL=jobs_url)
    org_id = _org(app)
    with app.app_context():
        first = enqueue(count_to, 4, organization_id=org_id)
        second = enqueue(breaks, True, organization_id=org_id)
        assert db.session.get(Job, first).status == "queued", "nothing runs without a worker"
    huey = queue_of(app)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = huey.create_consumer(workers=2, periodic=False, initial_delay=0.05)
    consumer.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with app.app_context():
                states = {db.session.get(Job, i).status for i in (first, second)}
            if states <= {"done", "failed"}:
                break
            time.sleep(0.1)
    finally:
        consumer.stop(graceful=True)
        for number, handler in handlers.items():
            signal.signal(number, handler)
    with app.app_context():
        done, failed = db.session.get(Job, first), db.session.get(Job, second)
        assert (done.status, done.progress_done, done.progress_total) == ("done", 4, 4)
        assert jobs.describe(failed) == "failed: The round no longer exists."
        if postgres:  # the queue really was in PostgreSQL
            tables = sa_inspect(db.engine).get_table_names()
            assert any(name.startswith("huey") for name in tables), tables
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# ----------------------------------------------------------- scheduled reminders
def test_the_reminder_before_closing_is_sent_once(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
) -> None:
    inbox, port = smtp_inbox
    app = make_app(
        database_url, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}", REMINDER_DAYS_BEFORE_CLOSE=2
    )
    soon = _world(app, "Soon", closes_in=timedelta(days=1))
    later = _world(app, "Later", closes_in=timedelta(days=5))
    with app.app_context():
        queued = queue_scheduled_reminders(utcnow())
        again = queue_scheduled_reminders(utcnow())
        [job] = [db.session.get(Job, i) for i in queued]
        assert again == [] and job.round_id == soon
        assert (job.kind, job.status, jobs.summary(job)) == (
            "scheduled_reminders",
            "done",
            "3 reminders sent.",
        )
        assert db.session.get(SurveyRound, later).scheduled_reminder_at is None
    assert sorted(inbox.recipients) == [f"member{i}@soon.example" for i in range(3)]
    assert all(m["Subject"].startswith("Reminder:") for m in inbox.messages)
    # Extending the round arms the reminder again, for the days before the new date.
    from survey.services import rounds

    with app.app_context():
        extended = db.session.get(SurveyRound, soon)
        rounds.extend_round(extended, extended.closes_at + timedelta(days=10), utcnow())
        db.session.commit()
        assert queue_scheduled_reminders(utcnow()) == []
        [again_later] = queue_scheduled_reminders(utcnow() + timedelta(days=9))
        assert db.session.get(Job, again_later).round_id == soon
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _world(app: Flask, org_name: str, closes_in: timedelta) -> int:
    """An open round of three members with links, closing after ``closes_in``; its id."""
    from analytics.instrument_parser import load_default_instrument
    from survey.services import organizations, rounds
    from survey.services.instruments import store_instrument

    with app.app_context():
        instrument_row, _ = store_instrument(load_default_instrument())
        org, _ = organizations.get_or_create_organization(org_name)
        team, _ = organizations.get_or_create_team(org, "Deal Desk")
        survey_round = rounds.create_round(
            org, "R", instrument_row, [team], mode="confidential", status="open",
            opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + closes_in,
        )  # fmt: skip
        for index in range(3):
            person = organizations.add_participant(
                team, name=f"Member {index}", email=f"member{index}@{org_name.lower()}.example"
            )
            rounds.issue_invitation(survey_round, person, utcnow(), timedelta(days=30))
        db.session.commit()
        return survey_round.id


# ---------------------------------------------------------------- exports
def test_a_background_export_is_downloadable_only_by_the_organizations_admins(
    app: Flask, client
) -> None:  # type: ignore[no-untyped-def]
    world = build_export_world(app)
    url = f"/admin/{world.org_id}/rounds/{world.round_id}/export"
    log_in(client, world.admin_email)
    token = csrf_from(client.get(url))
    started = client.post(
        url, data={"csrf_token": token, "format": "csv", "k": "5", "background": "1"}
    )
    assert started.status_code == 303
    page = client.get(url).get_data(as_text=True)
    with app.app_context():
        job = db.session.scalars(select(Job).where(Job.kind == "export")).one()
        job_id, file_name = job.id, job.result["file"]
        assert job.status == "done" and job.created_by.email == world.admin_email
        # Recorded in the anonymity ledger once, as a direct download is.
        assert [d.n for d in db.session.scalars(select(Disclosure))] == [30]
        second_admin = accounts.create_user("second@export.example", PASSWORD)
        accounts.set_role(second_admin, db.session.get(Organization, world.org_id), "admin")
        db.session.commit()
    status_url = f"/admin/{world.org_id}/jobs/{job_id}/status"
    download_url = f"/admin/{world.org_id}/jobs/{job_id}/download"
    assert "done" in page and download_url in page
    assert client.get(status_url).get_json()["text"] == "done"
    download = client.get(download_url)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as bundle:
        assert "data.csv" in bundle.namelist()
    assert (Path(app.instance_path) / "job-files" / file_name).is_file()

    second = app.test_client()
    log_in(second, "second@export.example")
    assert second.get(download_url).status_code == 200, "another admin of the organization"
    coach = app.test_client()
    log_in(coach, world.coach_email)
    assert coach.get(status_url).status_code == 403
    assert coach.get(download_url).status_code == 403
    other = build_export_world(app, org_name="Other Org", teams={"X": 5})
    stranger = app.test_client()
    log_in(stranger, other.admin_email)
    assert stranger.get(status_url).status_code == 404
    assert stranger.get(download_url).status_code == 404
    # The other organization's admin asking under their own organization: still no.
    assert stranger.get(f"/admin/{other.org_id}/jobs/{job_id}/download").status_code == 404
    assert app.test_client().get(status_url).status_code in (302, 401)

    # A member erased after the file was made: the file is no longer given out.
    with app.app_context():
        person = db.session.get(Participant, world.participant_ids[0])
        erasure.erase_participants([person], utcnow())
        db.session.commit()
    assert client.get(download_url).status_code == 410


def test_a_refused_background_export_fails_with_the_reason_and_leaves_no_file(
    app: Flask, client
) -> None:  # type: ignore[no-untyped-def]
    world = build_export_world(app, teams={"Only": 3, "Other": 2})
    url = f"/admin/{world.org_id}/rounds/{world.round_id}/export"
    log_in(client, world.admin_email)
    token = csrf_from(client.get(url))
    client.post(url, data={"csrf_token": token, "format": "csv", "k": "5", "background": "1"})
    page = client.get(url).get_data(as_text=True)
    assert "failed: " in page and "has been released yet" in page and "Traceback" not in page
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert job.status == "failed" and jobs.downloadable(job) is None
        assert not db.session.scalars(select(Disclosure.id)).all()
    assert list((Path(app.instance_path) / "job-files").iterdir()) == []
    assert client.get(f"/admin/{world.org_id}/jobs/{job.id}/download").status_code == 404


# ---------------------------------------------------------------- reports
def test_report_all_in_the_background_renders_records_and_reports_progress(
    app: Flask, runner, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.survey.accounts_helpers import build_access_world

    build_access_world(app)
    out = tmp_path / "all"
    queued = runner.invoke(
        args=["report", "--round", "R0", "--org", "Org A", "--all", "--out-dir", str(out),
              "--jobs", "1", "--background"]
    )  # fmt: skip
    assert queued.exit_code == 0, queued.output
    job_id = int(queued.output.split("Queued job ")[1].split(":")[0])
    shown = runner.invoke(args=["job", str(job_id)])
    assert f"Job {job_id} (reports): done" in shown.output
    assert "Wrote 1 reports" in shown.output and "Skipped Team Two: 2 of the 5" in shown.output
    assert sorted(p.name for p in out.iterdir()) == ["team-one.pdf"]
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.progress_done, job.progress_total) == (1, 1)
        ledger = db.session.scalars(select(Disclosure).where(Disclosure.kind == "report")).all()
        assert [d.group_name for d in ledger] == ["Team One"]
    assert runner.invoke(args=["job", "999999"]).exit_code != 0
