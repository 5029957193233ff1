"""Snapshots' job handlers (settings.JOB_HANDLERS): a batch capture as a job, its rows as they finish."""

import threading
import time
import uuid
from typing import Any

from devices.models import Device
from jobs.services import JobRun
from snapshots.api.serializers import BatchCaptureResultSerializer
from snapshots.models import Snapshot
from snapshots.services import CaptureResult, snapshot_capture_many

# The rows so far are written at most this often (the count of cameras done, every time): rewriting
# them on every camera would write a 10,000-camera job's growing result 10,000 times, gigabytes of JSON.
ROWS_EVERY_S = 1.0


def capture_batch(run: JobRun) -> dict[str, Any]:
    """Capture the cameras chosen when the job was asked for (params device_ids, missing, force);
    the job's result has one row per camera, like the synchronous batch's answer, and fills in
    as the cameras finish (at most every ROWS_EVERY_S). Cancelling stops the cameras not yet started."""
    ids = [uuid.UUID(pk) for pk in run.params["device_ids"]]
    by_id = Device.objects.in_bulk(ids)
    devices = [by_id[pk] for pk in ids if pk in by_id]
    gone = [str(pk) for pk in ids if pk not in by_id]  # deleted since the job was asked for
    missing = [CaptureResult.not_found(reference) for reference in [*run.params["missing"], *gone]]
    total = len(devices) + len(missing)
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    rows_written_at = 0.0

    def finished(result: CaptureResult) -> None:
        nonlocal rows_written_at
        with lock:
            rows.append(BatchCaptureResultSerializer(result).data)
            if time.monotonic() - rows_written_at < ROWS_EVERY_S:
                run.progress(done=len(rows), total=total)
                return
            run.progress(done=len(rows), total=total, result={"results": rows})
            rows_written_at = time.monotonic()

    run.progress(done=0, total=total)
    results = snapshot_capture_many(
        devices=devices,
        trigger=Snapshot.Trigger.API,
        user=run.job.requested_by,
        force=run.params["force"],
        on_result=finished,
        cancelled=run.cancelled,
    )
    ordered = [BatchCaptureResultSerializer(result).data for result in results]
    ordered += [BatchCaptureResultSerializer(result).data for result in missing]
    run.progress(done=total, total=total)
    captured = sum(1 for result in results if result.ok)
    return {"captured": captured, "failed": total - captured, "results": ordered}
