"""``negoscope worker`` (the queue's consumer) and ``negoscope job ID`` (one job's state)."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.extensions import db


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=int, help="Jobs run at once.")
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Leave the scheduled work (reminders before closing) to other worker hosts.",
)
@with_appcontext
def worker_command(workers: int, no_periodic: bool) -> None:
    """Run background jobs (emails, reports, exports, webhooks) until stopped (Ctrl-C)."""
    from survey.jobs import queue_of

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    huey = queue_of(app)
    if huey.immediate:
        raise click.ClickException("NEGOSCOPE_JOBS_URL is immediate: there is no queue to serve.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    db.session.remove()  # each job opens its own session in its own app context
    consumer = huey.create_consumer(
        workers=max(1, workers), worker_type="thread", periodic=not no_periodic
    )
    click.echo(f"Negoscope worker: {max(1, workers)} threads on {type(huey.storage).__name__}.")
    consumer.run()


@click.command("job")
@click.argument("job_id", type=int)
@with_appcontext
def job_command(job_id: int) -> None:
    """Show one background job's state (e.g. one queued by ``report --all --background``)."""
    from survey.models import Job
    from survey.services import jobs

    job = db.session.get(Job, job_id)
    if job is None:
        raise click.ClickException(f"There is no job {job_id}.")
    click.echo(f"Job {job.id} ({job.kind}): {jobs.describe(job)}")
    if summary := jobs.summary(job):
        click.echo(summary)
    for line in jobs.problems(job):
        click.echo(f"  {line}")
