"""Background jobs on Huey: declare, enqueue, run in the worker, show progress.

Public API (see :mod:`survey.jobs.core`)::

    from survey.jobs import JobFailed, JobRun, RetryLater, enqueue, job_task

    @job_task("webhook", retries=5, retry_delay=60)
    def deliver(run: JobRun, delivery_id: int) -> dict | None:
        ...                      # raise RetryLater("HTTP 503") to try again later
        run.progress(1, 1)       # optional; commits
        return {"status": 200}   # stored as the job's result

    job_id = enqueue(deliver, delivery_id, organization_id=org.id)  # commits, returns the id

The module declaring a task must be imported by the app (any module that
``create_app`` imports) so that the worker knows it. ``negoscope worker`` runs
the consumer; ``JOBS_URL`` (``NEGOSCOPE_JOBS_URL``) chooses the storage
(:mod:`survey.jobs.queue`).
"""

from survey.jobs.core import (
    JobFailed,
    JobRun,
    JobTask,
    RetryLater,
    enqueue,
    init_app,
    job_task,
    periodic_task,
    queue_of,
)

__all__ = [
    "JobFailed",
    "JobRun",
    "JobTask",
    "RetryLater",
    "enqueue",
    "init_app",
    "job_task",
    "periodic_task",
    "queue_of",
]
