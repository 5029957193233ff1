"""Writes on snapshots. Views, the admin and commands all capture through here."""

import contextlib
import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

from django import db
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Sum, Window
from django.utils import timezone

from devices.models import Device, FrameSource
from devices.selectors import device_retention
from devices.services import (
    device_keyframe_request,
    device_record_capture_failure,
    device_record_capture_success,
    device_storage_add,
    device_storage_recount,
    devices_claim_due,
)
from monitoring import metrics
from monitoring.services import capture_tally_add, monitoring_prune
from snapshots import encryption, images, live, rtsp, selectors, still
from snapshots.api.serializers import SnapshotSerializer
from snapshots.errors import CaptureError
from snapshots.models import Snapshot
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
    device_record_capture_failure(device=device, code=error.code, message=str(error), offline=error.offline)
    failure = {"device": {"id": str(device.pk), "name": device.name}, "code": error.code, "detail": str(error)}
    webhook_event(event=Event.CAPTURE_FAILED, data=lambda: failure)


# The least time a one-shot grab gets, even when waiting on a keeper used up the timeout.
ONESHOT_MIN_S = 1.0
# A one-shot grab that got this much less than the capture timeout was cut short.
SHORTENED_S = 0.25


@dataclass(frozen=True)
class Frame:
    jpeg: bytes
    source: str
    # When the frame arrived, on time.time()'s clock (the keeper may run in another process).
    arrived_at: float


def _grab(device: Device, *, max_age_s: float | None) -> Frame:
    """Where the frame comes from, by the camera's frame_source: the keeper's frame when it
    holds the camera (auto, rtsp), the camera's snapshot URL (auto when the keeper has no
    fresh frame, at once instead of waiting for the next keyframe; still), else a one-shot grab."""
    deadline = time.monotonic() + settings.CAPTURE_TIMEOUT_S
    still_url = device.snapshot_url if device.frame_source != FrameSource.RTSP else ""
    if device.live and device.frame_source != FrameSource.STILL:
        wait_s = 0 if still_url else settings.CAPTURE_TIMEOUT_S
        held = live.live_image(
            device_id=device.pk, max_age_s=max_age_s, timeout_s=wait_s, on_wait=device_keyframe_request(device=device)
        )
        if held is not None:
            return Frame(jpeg=held.jpeg, source=Snapshot.Source.LIVE, arrived_at=held.frame.captured_at)
    if still_url:
        return _grab_still(device, still_url, timeout_s=max(ONESHOT_MIN_S, deadline - time.monotonic()))
    return _grab_oneshot(device, timeout_s=max(ONESHOT_MIN_S, deadline - time.monotonic()))


def _grab_still(device: Device, url: str, *, timeout_s: float) -> Frame:
    jpeg = still.fetch_still(
        url,
        username=device.username,
        password=device.password,
        timeout_s=timeout_s,
        max_bytes=settings.CAPTURE_MAX_IMAGE_BYTES,
        tls_verify=device.tls_verify,
    )
    return Frame(jpeg=jpeg, source=Snapshot.Source.STILL, arrived_at=time.time())


def _grab_oneshot(device: Device, *, timeout_s: float) -> Frame:
    # A keeper that went away while we waited leaves the one-shot grab the rest of the time.
    try:
        jpeg = rtsp.grab_jpeg(
            device.rtsp_url,
            username=device.username,
            password=device.password,
            timeout_s=timeout_s,
            max_bytes=settings.CAPTURE_MAX_IMAGE_BYTES,
            tls_verify=device.tls_verify,
            on_playing=device_keyframe_request(device=device),
        )
    except CaptureError as error:
        if error.code == "timeout" and settings.CAPTURE_TIMEOUT_S - timeout_s > SHORTENED_S:
            # Timed out in what the wait on the keeper left: that says nothing of the camera.
            error.offline = False
        raise
    return Frame(jpeg=jpeg, source=Snapshot.Source.ONESHOT, arrived_at=time.time())


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
        frame = _grab(device, max_age_s=max_age_s)
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
    snapshot = Snapshot(device=device, key_id=encryption.target_key_id())
    snapshot.image, snapshot.thumbnail = (
        encryption.image_seal(data=column_data, snapshot_id=snapshot.pk, column=column, key_id=snapshot.key_id)
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
        webhook_event(event=Event.SNAPSHOT_CREATED, data=lambda: {"snapshot": SnapshotSerializer(snapshot).data})
    return snapshot


@dataclass(frozen=True)
class CaptureResult:
    """One camera's outcome in a batch: its snapshot, or its error."""

    device: Device
    elapsed_s: float
    snapshot: Snapshot | None = None
    error: CaptureError | None = None

    @property
    def device_id(self) -> str:
        return str(self.device.pk)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str | None:
        return self.error.code if self.error is not None else None

    @property
    def detail(self) -> str | None:
        return str(self.error) if self.error is not None else None


def capture_not_found_row(reference: str) -> dict[str, object]:
    """A batch's answer for a reference that names no camera, in the shape of a failed CaptureResult."""
    error = CaptureError(code="device_not_found")
    return {"device_id": reference, "ok": False, "code": error.code, "detail": str(error)}


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
        futures = [
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
            )
            for device in devices
        ]
        for future in as_completed(futures):
            result = future.result()
            results[result.device] = result
            if on_result is not None:
                on_result(result)
    return [results[device] for device in devices]


def snapshots_set_keep(*, snapshots: QuerySet[Snapshot], keep: bool) -> int:
    """Mark snapshots to keep (retention never removes them), or unmark them; return how many."""
    return snapshots.update(keep=keep)


def snapshot_set_keep(*, snapshot: Snapshot, keep: bool) -> Snapshot:
    snapshots_set_keep(snapshots=Snapshot.objects.filter(pk=snapshot.pk), keep=keep)
    snapshot.keep = keep
    return snapshot


PRUNE_BATCH_SIZE = 1000


@dataclass(frozen=True)
class PruneResult:
    device: Device
    deleted: int
    # Why this camera could not be pruned; the others are pruned all the same.
    error: str | None = None


def _retention_filter(device: Device) -> Q | None:
    """Which of the device's snapshots its retention removes, or None when it keeps all."""
    retention = device_retention(device=device)
    conditions = []
    if retention.days:
        conditions.append(Q(captured_at__lt=timezone.now() - timedelta(days=retention.days)))
    if most := retention.max_snapshots:
        newest_first = Snapshot.objects.filter(device=device, keep=False).order_by("-captured_at", "-pk")
        first_too_many = newest_first.values_list("captured_at", "pk")[most : most + 1]
        for captured_at, pk in first_too_many:
            conditions.append(Q(captured_at__lt=captured_at) | Q(captured_at=captured_at, pk__lte=pk))
    if most_bytes := retention.max_bytes:
        conditions.extend(_over_byte_quota(device, most_bytes))
    if not conditions:
        return None
    either = conditions[0]
    for condition in conditions[1:]:
        either |= condition
    return either


def _over_byte_quota(device: Device, max_bytes: int) -> list[Q]:
    """The snapshots past the byte quota: newest first, the first one whose running total of
    image sizes goes over what the kept snapshots leave of max_bytes, and every older one.
    Kept snapshots count towards the quota but are never removed. Sizes come from file_size:
    no image is read."""
    kept_bytes = Snapshot.objects.filter(device=device, keep=True).aggregate(size=Sum("file_size"))["size"] or 0
    newest_first = [F("captured_at").desc(), F("pk").desc()]
    running = (
        Snapshot.objects.filter(device=device, keep=False)
        .annotate(running_bytes=Window(Sum("file_size"), order_by=newest_first))
        .filter(running_bytes__gt=max_bytes - kept_bytes)
        .order_by(*newest_first)
        .values_list("captured_at", "pk")[:1]
    )
    return [Q(captured_at__lt=captured_at) | Q(captured_at=captured_at, pk__lte=pk) for captured_at, pk in running]


def snapshot_prune_device(*, device: Device, dry_run: bool = False) -> int:
    """Apply the device's retention; snapshots marked keep are never removed. Return how many.
    Then recount the camera's storage totals, correcting whatever wrote or deleted snapshots
    without the services."""
    condition = _retention_filter(device)
    if dry_run:
        return 0 if condition is None else Snapshot.objects.filter(condition, device=device, keep=False).count()
    deleted = 0
    if condition is not None:
        # In batches of ids, so memory stays flat however many rows go; oldest first, where the
        # doomed rows are, so each batch is read from the start of the camera's index instead of
        # past every row it keeps.
        doomed = Snapshot.objects.filter(condition, device=device, keep=False).order_by("captured_at", "id")
        while batch := snapshots_delete(snapshots=doomed[:PRUNE_BATCH_SIZE]):
            deleted += batch
    device_storage_recount(device_id=device.pk)
    return deleted


def snapshots_delete(*, snapshots: QuerySet[Snapshot]) -> int:
    """Delete these snapshots and take them off their cameras' storage totals; return how many.
    The rows are locked first, so one deleted meanwhile by someone else is not counted twice."""
    with transaction.atomic():
        rows = list(snapshots.select_for_update().values_list("pk", "device_id", "file_size"))
        Snapshot.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
        gone: dict[uuid.UUID, list[int]] = {}
        for _, device_id, size in rows:
            figures = gone.setdefault(device_id, [0, 0])
            figures[0] += size
            figures[1] += 1
        # In one order, so two deletes that span the same cameras cannot deadlock on their totals.
        for device_id, (size, count) in sorted(gone.items()):
            device_storage_add(device_id=device_id, size=-size, snapshots=-count)
    return len(rows)


def snapshot_prune(*, dry_run: bool = False) -> list[PruneResult]:
    results = []
    for device in Device.objects.order_by("name").iterator():
        try:
            results.append(PruneResult(device=device, deleted=snapshot_prune_device(device=device, dry_run=dry_run)))
        except Exception as exc:  # one camera's failure must not leave the rest unpruned
            logger.exception("pruning device %s failed", device.pk)
            results.append(PruneResult(device=device, deleted=0, error=type(exc).__name__))
    if not dry_run:
        monitoring_prune()
        metrics.PRUNE_RUNS.inc()
        metrics.PRUNE_DELETED.inc(sum(result.deleted for result in results))
    return results


def snapshot_capture_due(*, now: datetime | None = None) -> list[CaptureResult]:
    """One scheduler tick: capture every device whose interval has elapsed."""
    devices = devices_claim_due(now=now)
    if not devices:
        return []
    return snapshot_capture_many(devices=devices, trigger=Snapshot.Trigger.SCHEDULE, force=True)


@dataclass(frozen=True)
class SnapshotReencryption:
    moved: int
    # Rows whose key is not in VAS_ENCRYPTION_KEYS (or whose bytes were altered): left as they are.
    unreadable: int


def _reseal(row: tuple[uuid.UUID, str, bytes, bytes], target: str) -> dict[str, object]:
    pk, key_id, *stored = row
    sealed: dict[str, object] = {"key_id": target}
    for column, data in zip(selectors.IMAGE_COLUMNS, stored, strict=True):
        plain = encryption.image_unseal(stored=bytes(data), snapshot_id=pk, column=column, key_id=key_id)
        sealed[column] = encryption.image_seal(data=plain, snapshot_id=pk, column=column, key_id=target)
    return sealed


def snapshots_reencrypt(
    *, batch_size: int = 50, on_progress: Callable[[int, int], None] | None = None
) -> SnapshotReencryption:
    """Move every snapshot to the current key: the newest of VAS_ENCRYPTION_KEYS when
    VAS_IMAGE_ENCRYPTION is on, plain bytes when it is off. In batches of batch_size rows by id,
    each row a compare-and-set on its key id, so captures, prunes and another run may go on
    meanwhile; stopped, it resumes where it was (only rows under another key are read).
    on_progress(rows done, rows to do) after each batch."""
    target = encryption.target_key_id()
    pending = Snapshot.objects.exclude(key_id=target).order_by("pk")
    total = pending.count()
    moved = unreadable = 0
    after: uuid.UUID | None = None
    while True:
        rows = pending.filter(pk__gt=after) if after is not None else pending
        batch = list(rows.values_list("pk", "key_id", *selectors.IMAGE_COLUMNS)[:batch_size])
        if not batch:
            break
        after = batch[-1][0]
        for row in batch:
            try:
                sealed = _reseal(row, target)
            except encryption.ImageUnreadable:
                unreadable += 1
                continue
            moved += Snapshot.objects.filter(pk=row[0], key_id=row[1]).update(**sealed)
        if on_progress is not None:
            on_progress(moved + unreadable, total)
    return SnapshotReencryption(moved=moved, unreadable=unreadable)
