"""The Celery side of jobs: a worker runs the job the web process queued."""

from celery import shared_task

from jobs.services import job_run, jobs_fail_stale


@shared_task
def run_job(job_id: str) -> None:
    job_run(job_id=job_id)


@shared_task
def fail_stale_jobs() -> int:
    return jobs_fail_stale()
