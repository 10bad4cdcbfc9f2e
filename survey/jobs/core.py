"""Declaring jobs, putting them on the queue, and running them inside the app.

A job is a function declared with :func:`job_task`; :func:`enqueue` records a
:class:`~survey.models.job.Job` row, commits, and hands the row's id to Huey.
The worker (``negoscope worker``) runs the function in an application
context, marks the row running, then done (with the function's return value
as its result) or failed (with a message people may read: never a stack
trace, which goes to the worker's log).

Each app builds its own Huey instance on first use (:func:`queue_of`), from
``JOBS_URL`` (:mod:`survey.jobs.queue`); every declared task is registered on
it, bound to that app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from huey import Huey
from huey.api import TaskWrapper

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.jobs.queue import make_huey
from survey.models.job import JOB_KINDS, Job

log = logging.getLogger(__name__)

EXTENSION = "negoscope_jobs"
#: Shown when a job stops on an error nobody anticipated; the details are logged.
UNEXPECTED = "it stopped on an unexpected error (the worker's log has the details)"


class JobFailed(Exception):
    """Raise in a job to end it as failed with this message for staff; it is not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryLater(Exception):
    """Raise in a job declared with ``retries`` to try again; ``message`` is shown meanwhile."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class JobTask:
    """A declared job: the function, its kind, and Huey's retry settings."""

    kind: str
    func: Callable[..., Any]
    name: str
    retries: int = 0
    retry_delay: int = 0


@dataclass(frozen=True)
class PeriodicTask:
    """A function the worker runs on a schedule (a Huey ``crontab``), in an app context."""

    func: Callable[[], Any]
    name: str
    schedule: Callable[..., bool]


_TASKS: dict[str, JobTask] = {}
_PERIODIC: dict[str, PeriodicTask] = {}


def job_task(
    kind: str, *, retries: int = 0, retry_delay: int = 0
) -> Callable[[Callable[..., Any]], JobTask]:
    """Declare a job of ``kind`` (one of ``JOB_KINDS``).

    The function takes a :class:`JobRun` first, then the arguments given to
    :func:`enqueue` (plain, picklable values: ids rather than rows). What it
    returns (a JSON-able dict or None) becomes the job's ``result``. With
    ``retries``, an exception other than :class:`JobFailed` puts the job back
    on the queue ``retry_delay`` seconds later, up to ``retries`` times.
    """
    if kind not in JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}; add it to JOB_KINDS (and a migration)")

    def declare(func: Callable[..., Any]) -> JobTask:
        task = JobTask(kind, func, f"{func.__module__}.{func.__qualname__}", retries, retry_delay)
        _TASKS[task.name] = task
        return task

    return declare


def periodic_task(schedule: Callable[..., bool]) -> Callable[[Callable[[], Any]], PeriodicTask]:
    """Declare a function the worker runs whenever ``schedule`` (``huey.crontab``) says."""

    def declare(func: Callable[[], Any]) -> PeriodicTask:
        task = PeriodicTask(func, f"{func.__module__}.{func.__qualname__}", schedule)
        _PERIODIC[task.name] = task
        return task

    return declare


@dataclass(frozen=True)
class JobRun:
    """What a running job knows of itself: its id, and a way to report progress."""

    job_id: int

    def progress(self, done: int, total: int | None = None) -> None:
        """Record ``done`` of ``total`` steps; commits (call with no write transaction open)."""
        begin_write()
        job = db.session.get(Job, self.job_id)
        if job is not None:
            job.progress_done = max(0, done)
            if total is not None:
                job.progress_total = max(0, total)
        db.session.commit()


# ------------------------------------------------------------------ the queue
def init_app(app: Flask) -> None:
    """Check the queue settings now; the Huey instance itself is built on first use."""
    app.extensions[EXTENSION] = None
    app.config.setdefault("JOBS_URL", "")


def queue_of(app: Flask | None = None) -> Huey:
    """The app's Huey instance, with every declared task registered on it."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    huey = app.extensions.get(EXTENSION)
    if huey is None:
        import survey.jobs.tasks  # noqa: F401  (declares the built-in jobs)

        huey = make_huey(app.config.get("JOBS_URL"), app.instance_path)
        huey.negoscope_wrappers = {}  # type: ignore[attr-defined]
        app.extensions[EXTENSION] = huey
    _register_all(app, huey)
    return huey


def _register_all(app: Flask, huey: Huey) -> None:
    wrappers: dict[str, TaskWrapper] = huey.negoscope_wrappers  # type: ignore[attr-defined]
    for task in _TASKS.values():
        if task.name not in wrappers:
            wrappers[task.name] = huey.task(
                retries=task.retries,
                retry_delay=task.retry_delay,
                context=True,
                name=task.func.__qualname__,
            )(_job_runner(app, task))
    for periodic in _PERIODIC.values():
        if periodic.name not in wrappers:
            wrappers[periodic.name] = huey.periodic_task(
                periodic.schedule, name=periodic.func.__qualname__
            )(_periodic_runner(app, periodic))


def enqueue(
    task: JobTask,
    *args: Any,
    organization_id: int | None,
    round_id: int | None = None,
    created_by_id: int | None = None,
    delay: timedelta | None = None,
    **kwargs: Any,
) -> int:
    """Record a job of ``task``'s kind and put it on the queue; returns the job's id.

    Commits the session first (with whatever the caller wrote: a job must
    find in the database what was done before it was queued), then commits
    the job row, and only then queues it. In immediate mode (tests) the job
    runs here, before this returns.
    """
    huey = queue_of()
    begin_write()
    job = Job(
        kind=task.kind,
        status="queued",
        organization_id=organization_id,
        round_id=round_id,
        created_by_id=created_by_id,
    )
    db.session.add(job)
    db.session.flush()
    job_id = job.id  # read before the commit: afterwards it would start a new transaction
    db.session.commit()
    wrapper: TaskWrapper = huey.negoscope_wrappers[task.name]  # type: ignore[attr-defined]
    if delay is not None:
        wrapper.schedule(args=(job_id, args, kwargs), delay=delay.total_seconds())
    else:
        wrapper(job_id, args, kwargs)
    return job_id


# ---------------------------------------------------------------- running one
def _job_runner(app: Flask, task: JobTask) -> Callable[..., None]:
    def run(job_id: int, args: tuple[Any, ...], kwargs: dict[str, Any], task: Any = None) -> None:
        # Huey passes the running attempt as ``task``: its ``retries`` are those left.
        retries_left = int(getattr(task, "retries", 0) or 0)
        with app.app_context():
            execute(spec, job_id, args, kwargs, retries_left=retries_left)

    spec = task
    run.__module__ = task.func.__module__  # Huey names the task "<module>.<name>"
    return run


def _periodic_runner(app: Flask, periodic: PeriodicTask) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                periodic.func()
            finally:
                db.session.remove()

    run.__module__ = periodic.func.__module__
    return run


def execute(
    task: JobTask, job_id: int, args: tuple[Any, ...], kwargs: dict[str, Any], *, retries_left: int
) -> None:
    """Run one attempt of a job and record what became of it (call in an app context).

    Re-raises an unexpected error when retries are left, so that Huey
    schedules the next attempt.
    """
    try:
        if not _start(job_id):
            return
        try:
            result = task.func(JobRun(job_id), *args, **kwargs)
        except JobFailed as failure:
            _finish(job_id, "failed", message=failure.message)
            return
        except Exception as error:
            db.session.rollback()
            reason = error.message if isinstance(error, RetryLater) else UNEXPECTED
            if not isinstance(error, RetryLater):
                log.exception("job %s (%s) failed", job_id, task.name)
            if retries_left > 0:
                note = f"attempt failed: {reason}; trying again"
                if task.retry_delay:
                    note += f" in {task.retry_delay} s"
                _finish(job_id, "queued", message=note)
                raise
            _finish(job_id, "failed", message=reason)
            return
        _finish(job_id, "done", result=result)
    finally:
        db.session.remove()


def _start(job_id: int) -> bool:
    """Mark the job running; False when its row is gone (its organization was deleted)."""
    begin_write()
    job = db.session.get(Job, job_id)
    if job is None:
        db.session.rollback()
        return False
    job.status = "running"
    job.attempts += 1
    job.started_at = job.started_at or utcnow()
    db.session.commit()
    return True


def _finish(job_id: int, status: str, *, message: str | None = None, result: Any = None) -> None:
    db.session.rollback()  # whatever the job left unfinished is not kept
    begin_write()
    job = db.session.get(Job, job_id)
    if job is not None:
        job.status = status
        job.message = message[:1000] if message else None
        if result is not None:
            job.result = result
        if status in ("done", "failed"):
            job.finished_at = utcnow()
            if status == "done" and job.progress_total is not None:
                job.progress_done = job.progress_total
    db.session.commit()
