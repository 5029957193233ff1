"""Reads for the pages: the wall's cameras and each tile's newest frame (the keeper's when it
holds the camera, else the latest snapshot), a camera's timeline by day, the viewer's neighbours."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from capture import live
from capture.errors import CaptureError
from devices.models import Device
from devices.selectors import Viewer, devices_visible
from snapshots.models import Snapshot
from vas_project import crypto

STATUSES = [choice for choice, _ in Device.Status.choices]


@dataclass(frozen=True)
class WallFrame:
    jpeg: bytes
    # Unix seconds when the camera sent the frame.
    captured_at: float
    # Stable for as long as the frame is the same: the tile's ETag.
    tag: str


def wall_devices(*, user: Viewer, status: str = "", name: str = "") -> QuerySet[Device]:
    """The cameras of the wall: those the user may see, by name, filtered by status and name."""
    devices = devices_visible(user=user).only("id", "name", "status", "enabled", "last_seen_at", "last_error")
    if status in STATUSES:
        devices = devices.filter(status=status)
    if name:
        devices = devices.filter(name__icontains=name)
    return devices.order_by("name")


def wall_frame(*, device_id: uuid.UUID) -> WallFrame | None:
    """The keeper's current frame without waiting for one, else the latest snapshot's thumbnail-sized
    image; None when the camera has neither."""
    try:
        held = live.live_image(device_id=device_id, max_age_s=float("inf"), timeout_s=0)
    except CaptureError:
        held = None  # a session without a usable frame yet: the stored one will do
    if held is not None:
        stamp = held.frame.captured_at
        return WallFrame(jpeg=held.jpeg, captured_at=stamp, tag=f"live-{device_id}-{stamp:.6f}")
    latest = (
        Snapshot.objects.filter(device_id=device_id)
        .order_by("-captured_at", "-id")
        .values_list("pk", "captured_at", "image", "key_id")
        .first()
    )
    if latest is None:
        return None
    pk, captured_at, image, key_id = latest
    try:
        jpeg = crypto.image_unseal(stored=bytes(image), snapshot_id=pk, column="image", key_id=key_id)
    except crypto.ImageUnreadable:
        return None  # its key left VAS_ENCRYPTION_KEYS: the wall shows no picture, not an error
    return WallFrame(jpeg=jpeg, captured_at=captured_at.timestamp(), tag=f"{pk}-wall")


TIMELINE_PAGE_SIZE = 48


@dataclass(frozen=True)
class Timeline:
    """One page of one day of a camera's snapshots, newest first, and the days around it."""

    day: date | None
    rows: list[Any]
    page: int
    has_next_page: bool
    # The nearest days before and after `day` that have snapshots.
    earlier_day: date | None
    later_day: date | None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def camera_timeline(*, device: Device, day: date | None, page: int) -> Timeline:
    """The camera's snapshots of one day (the day of its newest snapshot when none is asked),
    in pages; days are in the server's time zone (DJANGO_TIME_ZONE)."""
    snapshots = Snapshot.objects.filter(device=device)
    if day is None:
        newest = snapshots.order_by("-captured_at").values_list("captured_at", flat=True).first()
        if newest is None:
            return Timeline(day=None, rows=[], page=1, has_next_page=False, earlier_day=None, later_day=None)
        day = timezone.localdate(newest)
    start, end = _day_start(day), _day_start(day + timedelta(days=1))
    offset = (page - 1) * TIMELINE_PAGE_SIZE
    rows = list(
        snapshots.filter(captured_at__gte=start, captured_at__lt=end)
        .order_by("-captured_at")
        .values("pk", "captured_at", "keep")[offset : offset + TIMELINE_PAGE_SIZE + 1]
    )
    earlier = snapshots.filter(captured_at__lt=start).order_by("-captured_at").values_list("captured_at", flat=True)
    later = snapshots.filter(captured_at__gte=end).order_by("captured_at").values_list("captured_at", flat=True)
    return Timeline(
        day=day,
        rows=rows[:TIMELINE_PAGE_SIZE],
        page=page,
        has_next_page=len(rows) > TIMELINE_PAGE_SIZE,
        earlier_day=timezone.localdate(at) if (at := earlier.first()) else None,
        later_day=timezone.localdate(at) if (at := later.first()) else None,
    )


@dataclass(frozen=True)
class Neighbours:
    older: uuid.UUID | None
    newer: uuid.UUID | None


def snapshot_neighbours(*, snapshot: Snapshot) -> Neighbours:
    """The camera's snapshots just before and just after this one, for the viewer's previous/next."""
    same_camera = Snapshot.objects.filter(device_id=snapshot.device_id)
    older = same_camera.filter(captured_at__lt=snapshot.captured_at).order_by("-captured_at")
    newer = same_camera.filter(captured_at__gt=snapshot.captured_at).order_by("captured_at")
    return Neighbours(
        older=older.values_list("pk", flat=True).first(), newer=newer.values_list("pk", flat=True).first()
    )
