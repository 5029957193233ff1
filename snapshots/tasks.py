"""Celery tasks: the same services the scheduler, the API and the commands use."""

import logging
import time

from celery import shared_task

from capture.errors import CaptureError
from devices.selectors import devices_select
from devices.services import device_give_back_slot, devices_claim_due
from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat
from snapshots.models import Snapshot
from snapshots.services import CaptureResult, snapshot_capture

logger = logging.getLogger(__name__)


@shared_task
def capture_device(device_id: str) -> dict[str, object]:
    """Capture one device on schedule; the failure is recorded on the device, not raised."""
    selection = devices_select(user=None, references=[device_id])
    if not selection.devices:
        return CaptureResult.not_found(device_id).as_dict()
    device = selection.devices[0]
    started = time.monotonic()
    try:
        snapshot = snapshot_capture(device=device, trigger=Snapshot.Trigger.SCHEDULE, force=True)
    except CaptureError as error:
        return CaptureResult(device=device, error=error, elapsed_s=time.monotonic() - started).as_dict()
    return CaptureResult(device=device, snapshot=snapshot, elapsed_s=time.monotonic() - started).as_dict()


@shared_task
def enqueue_due_captures() -> int:
    """Beat, every minute: one capture task per device whose slot has come (claimed once).
    A claim whose task cannot be queued (broker down or hanging) is given back, not lost; after
    one such failure the rest are given back too instead of each waiting on the broker."""
    # The scheduler's heartbeat, when Celery beat is the scheduler.
    heartbeat_beat(component=Heartbeat.Component.SCHEDULER, name="celery beat")
    claimed = devices_claim_due()
    for position, device in enumerate(claimed):
        try:
            capture_device.delay(str(device.pk))
        except Exception as exc:
            logger.warning(
                "queueing the capture of device %s failed (%s); it and %d more are due again at the next tick",
                device.pk,
                type(exc).__name__,
                len(claimed) - position - 1,
            )
            for unqueued in claimed[position:]:
                device_give_back_slot(device=unqueued)
            return position
    return len(claimed)
