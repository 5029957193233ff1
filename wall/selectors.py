"""What a tile of the wall shows: the camera's newest frame, from the keeper when it holds the
camera, else its latest snapshot."""

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from devices.models import Device
from devices.selectors import Viewer, devices_visible
from snapshots import live
from snapshots.errors import CaptureError
from snapshots.models import Snapshot

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
    devices = devices_visible(user=user).only("id", "name", "status", "enabled", "last_seen_at")
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
        .order_by("-captured_at")
        .values_list("pk", "captured_at", "image")
        .first()
    )
    if latest is None:
        return None
    pk, captured_at, image = latest
    return WallFrame(jpeg=bytes(image), captured_at=captured_at.timestamp(), tag=f"{pk}-wall")
