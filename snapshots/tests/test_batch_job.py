"""A batch capture as a job: its count moves with every camera, its rows are written at most
every ROWS_EVERY_S, and the result at the end has every row."""

import time

import pytest

from devices.models import Device
from jobs.models import Job
from jobs.services import JobRun
from snapshots import jobs


class ObservedRun(JobRun):
    """The job's real run, noting each progress report: cameras done, and rows written (None: none)."""

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.reports: list[tuple[int, int | None]] = []

    def progress(self, *, done: int, total: int, result: dict | None = None) -> None:
        self.reports.append((done, None if result is None else len(result["results"])))
        super().progress(done=done, total=total, result=result)


@pytest.mark.django_db
def test_a_big_batch_counts_every_camera_but_writes_its_rows_only_now_and_then(refused_url):
    devices = [Device.objects.create(name=f"dead {n}", rtsp_url=refused_url) for n in range(60)]
    job = Job.objects.create(
        kind=Job.Kind.CAPTURE_BATCH,
        params={"device_ids": [str(device.pk) for device in devices], "missing": [], "force": True},
        progress_total=60,
    )
    run = ObservedRun(job)
    started = time.monotonic()
    result = jobs.capture_batch(run)
    elapsed_s = time.monotonic() - started
    assert [done for done, _ in run.reports] == [0, *range(1, 61), 60]
    writes = [rows for _, rows in run.reports if rows is not None]
    assert writes[0] == 1  # the first camera's row at once
    assert len(writes) <= 1 + elapsed_s / jobs.ROWS_EVERY_S + 1
    assert len(writes) < 60
    assert len(result["results"]) == 60 and result["failed"] == 60
    job.refresh_from_db()
    assert job.progress_done == 60
