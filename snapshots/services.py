"""Writes on snapshots. Views, the admin and commands all capture through here."""

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

from django import db
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction

from capture import sources
from capture.errors import CaptureError
from capture.sources import Frame
from devices.models import Device
from devices.selectors import device_camera
from devices.services import (
    device_record_capture_failure,
    device_record_capture_success,
    device_storage_add,
    devices_claim_due,
)
from monitoring.services import capture_tally_add
from snapshots import images
from snapshots.models import Snapshot
from snapshots.mqtt import snapshot_publish
from snapshots.representation import snapshot_as_dict
from vas_project import crypto, metrics
from webhooks.models import Event
from webhooks.services import webhook_event

logger = logging.getLogger(__name__)


def _check_capturable(device: Device, *, force: bool) -> None:
    if not device.enabled:
        # The table's sentences, without the camera's name: the caller may capture it without
        # being allowed to see the register.
        raise CaptureError(code="device_disabled")
    if device.password_unreadable:
        raise CaptureError(code="password_unreadable")
    if device.status == Device.Status.OFFLINE and not force:
        raise CaptureError(code="device_offline")


def _record_failure(device: Device, error: CaptureError) -> None:
    device_record_capture_failure(
        device=device, code=error.code, message=str(error), offline=error.offline, conclusive=error.conclusive
    )
    failure = {"device": {"id": str(device.pk), "name": device.name}, "code": error.code, "detail": str(error)}
    webhook_event(event=Event.CAPTURE_FAILED, data=lambda: failure)


def _inspect(data: bytes) -> tuple[images.ImageInfo, bytes]:
    """The image's facts and its thumbnail; bytes Pillow cannot read are the camera's failure."""
    try:
        return images.inspect_jpeg(data), images.resize_jpeg(data, max_width_px=settings.THUMBNAIL_WIDTH_PX)
    except images.InvalidImage as exc:
        raise CaptureError(f"The camera sent an unusable image: {exc}", code="invalid_image") from None


# Captures running in this process, by device: concurrent requests for one camera share
# the running capture instead of each opening a connection to the camera.
_running: dict[object, Future[Snapshot]] = {}
_running_lock = threading.Lock()


def snapshot_capture(
    *,
    device: Device,
    trigger: str,
    user: User | AnonymousUser | None = None,
    force: bool = False,
    max_age_s: float | None = None,
) -> Snapshot:
    """Grab a frame from the camera and store it with its thumbnail.

    A live camera's frame comes from the stream keeper when it is at most max_age_s old
    (None: one keyframe interval); otherwise the capture waits for the keeper's next one.
    A camera no keeper holds is grabbed one-shot. A request that arrives while a capture
    of the same camera runs waits for it and gets the same snapshot (or the same error).
    """
    _check_capturable(device, force=force)
    with _running_lock:
        running = _running.get(device.pk)
        if running is None:
            mine: Future[Snapshot] = Future()
            _running[device.pk] = mine
    if running is not None:
        return running.result()
    try:
        snapshot = _capture_and_store(device=device, trigger=trigger, user=user, max_age_s=max_age_s)
    except BaseException as error:
        mine.set_exception(error)
        raise
    else:
        mine.set_result(snapshot)
        return snapshot
    finally:
        with _running_lock:
            del _running[device.pk]


def _capture_and_store(
    *, device: Device, trigger: str, user: User | AnonymousUser | None, max_age_s: float | None
) -> Snapshot:
    """The camera I/O and the image work run outside any transaction: they can take
    seconds, and a transaction held open that long would block other writers."""
    started = time.monotonic()
    try:
        frame = sources.grab(device_camera(device=device), max_age_s=max_age_s)
        data = frame.jpeg
        info, thumbnail = _inspect(data)
    except CaptureError as error:
        fields = {"device_id": device.pk, "code": error.code, "duration_ms": round((time.monotonic() - started) * 1000)}
        logger.warning("capture from device %s failed: %s", device.pk, error.code, extra=fields)
        _record_failure(device, error)
        _count_capture(device, source="none", code=error.code, started=started)
        raise
    try:
        snapshot = _save_snapshot(
            device=device, frame=frame, info=info, thumbnail=thumbnail, trigger=trigger, user=user
        )
    except IntegrityError:
        if Device.objects.filter(pk=device.pk).exists():
            raise
        # Deleted while its capture ran: nothing to store the snapshot on.
        raise CaptureError(code="device_not_found") from None
    fields = {
        "device_id": device.pk,
        "snapshot_id": snapshot.pk,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    logger.info("captured %s from device %s (%d bytes)", snapshot.pk, device.pk, len(data), extra=fields)
    _count_capture(device, source=snapshot.source, code="ok", started=started)
    return snapshot


def _count_capture(device: Device, *, source: str, code: str, started: float) -> None:
    """The capture in the metrics of this process; a failure also in the camera's tally (a
    success is tallied in the snapshot's transaction)."""
    metrics.capture_counted(
        device_id=device.pk, device_name=device.name, source=source, code=code, seconds=time.monotonic() - started
    )
    if code != "ok":
        with contextlib.suppress(IntegrityError):  # the camera was deleted meanwhile
            capture_tally_add(device_id=device.pk, ok=False)


def _save_snapshot(
    *,
    device: Device,
    frame: Frame,
    info: images.ImageInfo,
    thumbnail: bytes,
    trigger: str,
    user: User | AnonymousUser | None,
) -> Snapshot:
    data = frame.jpeg
    snapshot = Snapshot(device=device, key_id=crypto.target_key_id())
    snapshot.image, snapshot.thumbnail = (
        crypto.image_seal(data=column_data, snapshot_id=snapshot.pk, column=column, key_id=snapshot.key_id)
        for column, column_data in (("image", data), ("thumbnail", thumbnail))
    )
    with transaction.atomic():
        snapshot = Snapshot.objects.create(
            id=snapshot.pk,
            device=device,
            key_id=snapshot.key_id,
            image=snapshot.image,
            thumbnail=snapshot.thumbnail,
            content_type=info.content_type,
            width=info.width,
            height=info.height,
            file_size=len(data),
            trigger=trigger,
            triggered_by=user if user is not None and user.is_authenticated else None,
            source=frame.source,
            frame_age_ms=max(0, round((time.time() - frame.arrived_at) * 1000)),
        )
        device_storage_add(device_id=device.pk, size=len(data), snapshots=1)
        capture_tally_add(device_id=device.pk, ok=True)
        device_record_capture_success(device=device)
        # Sent once this transaction commits: the receiver can fetch the snapshot at once.
        webhook_event(event=Event.SNAPSHOT_CREATED, data=lambda: {"snapshot": snapshot_as_dict(snapshot)})
        snapshot_publish(snapshot=snapshot, data=data)
    return snapshot


@dataclass(frozen=True)
class CaptureResult:
    """One camera's outcome: its snapshot, or its error. A reference that names no camera is an
    outcome too (not_found: no device, never tried), so every caller (the API, the batch job,
    capture_snapshot, the Celery task) answers from this one shape."""

    device: Device | None
    elapsed_s: float | None
    snapshot: Snapshot | None = None
    error: CaptureError | None = None
    # What named the camera, when it names none.
    reference: str = ""

    @classmethod
    def not_found(cls, reference: str) -> "CaptureResult":
        return cls(device=None, elapsed_s=None, error=CaptureError(code="device_not_found"), reference=reference)

    @property
    def device_id(self) -> str:
        return str(self.device.pk) if self.device is not None else self.reference

    @property
    def device_name(self) -> str:
        return self.device.name if self.device is not None else self.reference

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str | None:
        return self.error.code if self.error is not None else None

    @property
    def detail(self) -> str | None:
        return str(self.error) if self.error is not None else None

    def as_dict(self) -> dict[str, object]:
        """The camera's id, ok, and its snapshot's id or the error's code and sentence."""
        row: dict[str, object] = {"device_id": self.device_id, "ok": self.ok}
        if self.snapshot is not None:
            row["snapshot_id"] = str(self.snapshot.pk)
        if self.error is not None:
            row.update(code=self.code, detail=self.detail)
        return row


# What a capture needs beyond its camera timeout: the give-up margin, the image work, the insert.
CAPTURE_MARGIN_S = 2.0


def _capture_one(
    device: Device,
    *,
    trigger: str,
    user: User | AnonymousUser | None,
    force: bool,
    start_by: float | None,
    cancelled: Callable[[], bool] | None,
) -> CaptureResult:
    started = time.monotonic()
    if start_by is not None and started > start_by:
        return CaptureResult(device=device, error=CaptureError(code="batch_deadline"), elapsed_s=0.0)
    if cancelled is not None and cancelled():
        return CaptureResult(device=device, error=CaptureError(code="cancelled"), elapsed_s=0.0)
    try:
        snapshot = snapshot_capture(device=device, trigger=trigger, user=user, force=force)
        return CaptureResult(device=device, snapshot=snapshot, elapsed_s=time.monotonic() - started)
    except CaptureError as error:
        return CaptureResult(device=device, error=error, elapsed_s=time.monotonic() - started)
    except Exception:
        # One broken capture must not take the rest of the batch with it.
        logger.exception("unexpected failure capturing device %s", device.pk)
        unexpected = CaptureError(code="internal_error")
        return CaptureResult(device=device, error=unexpected, elapsed_s=time.monotonic() - started)
    finally:
        # Each worker thread has its own database connection; do not leak it.
        db.connection.close()


def snapshot_capture_many(
    *,
    devices: Iterable[Device],
    trigger: str,
    user: User | AnonymousUser | None = None,
    force: bool = False,
    concurrency: int | None = None,
    on_result: Callable[[CaptureResult], None] | None = None,
    deadline_s: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[CaptureResult]:
    """Capture from many cameras in parallel threads; results in input order.

    Each capture is bounded by its own timeout, so one slow camera never holds the
    others up for longer than that. `on_result` is called as each one finishes. With
    deadline_s the whole call ends within it: a camera whose capture could no longer finish
    in time is not started, and answers "batch_deadline"; once `cancelled()` says so, the
    cameras not yet started answer "cancelled".
    """
    devices = list(devices)
    workers = max(1, min(concurrency or settings.CAPTURE_CONCURRENCY, len(devices) or 1))
    start_by = None
    if deadline_s is not None:
        start_by = time.monotonic() + deadline_s - settings.CAPTURE_TIMEOUT_S - CAPTURE_MARGIN_S
    results: dict[Device, CaptureResult] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capture") as pool:
        futures = {
            # In a copy of the caller's context: the log lines carry its request and job ids.
            pool.submit(
                contextvars.copy_context().run,
                _capture_one,
                device,
                trigger=trigger,
                user=user,
                force=force,
                start_by=start_by,
                cancelled=cancelled,
            ): device
            for device in devices
        }
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_result is not None:
                on_result(result)
    return [results[device] for device in devices]


def snapshot_capture_due(*, now: datetime | None = None) -> list[CaptureResult]:
    """One scheduler tick: capture every device whose interval has elapsed."""
    devices = devices_claim_due(now=now)
    if not devices:
        return []
    return snapshot_capture_many(devices=devices, trigger=Snapshot.Trigger.SCHEDULE, force=True)
