"""Writes on jobs: create and start one, run it with a heartbeat, report its progress, cancel
it, and fail the jobs whose worker died. Nothing here knows what a job does: each kind's
handler is named in settings.JOB_HANDLERS and gets a JobRun."""

import functools
import json
import logging
import threading
import uuid
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.models import Job
from vas_project.logs import current_request_id, log_context
from webhooks.models import Event
from webhooks.services import webhook_event

logger = logging.getLogger(__name__)

FINISHED_STATES = [Job.State.SUCCEEDED, Job.State.FAILED, Job.State.CANCELLED]
UNFINISHED_STATES = [Job.State.QUEUED, Job.State.RUNNING]
WORKER_GONE = "Its worker stopped (killed or restarted) before it finished; start it again."


class JobFailed(Exception):
    """A handler's clear reason to fail its job (a bound exceeded, nothing to do): the
    message is the job's error as the user reads it."""


class JobRun:
    """What a handler sees of its job: the parameters, progress to report, and whether a
    user asked to cancel it."""

    def __init__(self, job: Job):
        self.job = job

    @property
    def params(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.job.params)

    def progress(self, *, done: int, total: int, result: dict[str, Any] | None = None) -> None:
        fields: dict[str, Any] = {"progress_done": done, "progress_total": total, "heartbeat_at": timezone.now()}
        if result is not None:
            fields["result"] = result
        Job.objects.filter(pk=self.job.pk).update(**fields)

    def cancelled(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()


def job_create(*, kind: str, params: dict[str, Any], user: User | AnonymousUser | None, total: int = 0) -> Job:
    """A queued job, started once the request's transaction commits: on Celery when a broker is
    configured, else in a thread of this process (the demo's embedded runner)."""
    owner = user if isinstance(user, User) else None
    job = Job.objects.create(
        kind=kind, params=params, requested_by=owner, progress_total=total, request_id=current_request_id()
    )
    transaction.on_commit(lambda: _start(job))
    return job


def _start(job: Job) -> None:
    if not settings.CELERY_BROKER_URL:
        threading.Thread(target=_run_in_thread, args=(job.pk,), daemon=True, name=f"job-{job.pk}").start()
        return
    from jobs.tasks import run_job

    try:
        run_job.delay(str(job.pk))
    except Exception as exc:
        logger.warning("queueing job %s failed (%s)", job.pk, type(exc).__name__)
        _finish(job, Job.State.FAILED, error="The job could not be queued: the broker is unavailable.")


def _run_in_thread(job_id: uuid.UUID) -> None:
    try:
        job_run(job_id=job_id)
    finally:
        connection.close()  # this thread's own connection, however the job ended


def job_run(*, job_id: uuid.UUID | str) -> None:
    """Run a queued job to its end (once, whoever calls it first), with a heartbeat every
    JOB_HEARTBEAT_S so that a job whose worker dies is seen to have died."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return  # cancelled while queued, or run by another worker
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return  # deleted as it started
    # In its own thread or worker: the lines of the request that asked for it are found with it.
    with log_context(request_id=job.request_id, user_id=job.requested_by_id, job_id=job.pk):
        logger.info("job %s (%s) started", job.pk, job.kind)
        _run_handler(job)


def _run_handler(job: Job) -> None:
    run = JobRun(job)
    stop = threading.Event()
    heartbeat = threading.Thread(target=_beat, args=(job, stop), daemon=True, name=f"job-{job.pk}-heartbeat")
    heartbeat.start()
    try:
        result = import_string(settings.JOB_HANDLERS[job.kind])(run)
    except JobFailed as failure:
        _finish(job, Job.State.FAILED, error=str(failure))
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        _finish(job, Job.State.FAILED, error=f"The job failed unexpectedly ({type(exc).__name__}); see the log.")
    else:
        _finish(job, Job.State.CANCELLED if run.cancelled() else Job.State.SUCCEEDED, result=result)
    finally:
        stop.set()
        heartbeat.join()


def _beat(job: Job, stop: threading.Event) -> None:
    while not stop.wait(settings.JOB_HEARTBEAT_S):
        Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(heartbeat_at=timezone.now())
    connection.close()


def _finish(job: Job, state: str, *, result: dict[str, Any] | None = None, error: str = "") -> None:
    fields: dict[str, Any] = {"state": state, "finished_at": timezone.now(), "error": error}
    if result is not None:
        fields["result"] = result
    if Job.objects.filter(pk=job.pk).exclude(state__in=FINISHED_STATES).update(**fields):
        logger.info("job %s finished: %s", job.pk, state, extra={"job_id": job.pk})
        _announce_finished([job.pk])


# A job.finished payload carries the job's result when it is at most this long as JSON (an
# export's link, a small batch); a longer one is left for GET /api/jobs/{id}.
EVENT_RESULT_MAX_CHARS = 16_000


def _job_event(job: Job) -> dict[str, Any]:
    from jobs.api.serializers import JobSerializer

    body = dict(JobSerializer(job).data)
    if len(json.dumps(body["result"], default=str)) > EVENT_RESULT_MAX_CHARS:
        body["result"] = None
        body["result_left_out"] = True
    return {"job": body}


def _announce_finished(job_ids: list[uuid.UUID]) -> None:
    for job in Job.objects.filter(pk__in=job_ids).select_related("requested_by"):
        webhook_event(event=Event.JOB_FINISHED, data=functools.partial(_job_event, job))


def job_cancel(*, job: Job) -> Job:
    """Ask a job to stop: a queued one is cancelled at once, a running one stops before its
    next step (a batch captures no camera it has not started). A finished job is left alone."""
    Job.objects.filter(pk=job.pk).exclude(state__in=FINISHED_STATES).update(cancel_requested=True)
    queued = Job.objects.filter(pk=job.pk, state=Job.State.QUEUED)
    if queued.update(state=Job.State.CANCELLED, finished_at=timezone.now()):
        _announce_finished([job.pk])
    job.refresh_from_db()
    return job


def _clean_up_after(*, job_id: uuid.UUID, kind: str) -> None:
    """What a failed job's handler left half done, cleaned up by the function settings.JOB_CLEANUPS
    names for its kind (an export's partial file); its failure is logged, the sweep goes on."""
    if kind not in settings.JOB_CLEANUPS:
        return
    try:
        import_string(settings.JOB_CLEANUPS[kind])(job_id=job_id)
    except Exception:
        logger.exception("cleaning up after job %s failed", job_id)


def jobs_fail_stale() -> int:
    """Running jobs whose heartbeat stopped (their worker was killed): failed, never left running.
    Without a broker, a job still queued that long never got its thread (its process died at once)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_S)
    stale = Q(state=Job.State.RUNNING, heartbeat_at__lt=cutoff)
    if not settings.CELERY_BROKER_URL:
        stale |= Q(state=Job.State.QUEUED, created_at__lt=cutoff)
    failed = 0
    for pk, kind in Job.objects.filter(stale).values_list("pk", "kind"):
        # The same condition again: a job that beat or finished since the read is left alone.
        if Job.objects.filter(stale, pk=pk).update(state=Job.State.FAILED, error=WORKER_GONE, finished_at=now):
            _clean_up_after(job_id=pk, kind=kind)
            _announce_finished([pk])
            failed += 1
    return failed
