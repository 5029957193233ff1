"""Reads on devices: which cameras a user may see, which cameras a request names, and each
camera's effective settings."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from capture.addresses import url_endpoint
from capture.camera import Camera
from devices.models import (
    MAX_CAPTURE_INTERVAL_S,
    MAX_RETENTION_BYTES,
    MAX_RETENTION_DAYS,
    MAX_RETENTION_SNAPSHOTS,
    Device,
    DeviceStorage,
)
from vas_project.permissions import CameraLimit, camera_limit, sees_every_camera, user_sees_every_camera

# Whoever asks: a user of the API or the admin, or None for the product itself (the scheduler,
# the commands, the Celery tasks), which sees every camera.
Viewer = User | AnonymousUser | None


def devices_visible(*, user: Viewer) -> QuerySet[Device]:
    """The cameras this user may see: every one for superusers (and for everyone while
    VAS_CAMERAS_VISIBLE_TO_ALL is on), else those sharing one of the user's groups; of those,
    when the request came with an API key given cameras or groups, only the key's. Every route
    that lists or answers a camera or its snapshots starts here; what the user may do with
    them is still the model permissions' business."""
    limit = camera_limit(user=user)
    if limit is not None and user is not None:
        return _devices_within(_devices_of_user(user=user, sees_all=user_sees_every_camera(user=user)), limit)
    return _devices_of_user(user=user, sees_all=sees_every_camera(user=user))


def _devices_of_user(*, user: Viewer, sees_all: bool) -> QuerySet[Device]:
    if sees_all:
        return Device.objects.all()
    if user is None or not user.is_authenticated:
        return Device.objects.none()
    memberships = Device.groups.through.objects.filter(device_id=OuterRef("pk"), group__user=user)
    return Device.objects.filter(Exists(memberships))


def _devices_within(devices: QuerySet[Device], limit: CameraLimit) -> QuerySet[Device]:
    in_groups = Device.groups.through.objects.filter(device_id=OuterRef("pk"), group_id__in=limit.group_ids)
    return devices.filter(Q(pk__in=limit.device_ids) | Exists(in_groups))


def device_ids_visible(*, user: Viewer) -> list[uuid.UUID] | None:
    """The ids of the cameras this user may see, None when that is every camera (nothing to
    filter). Read once per user object, that is once per request: a listing asks twice (DRF's
    permission check and the list itself), and an IN list of ids costs its count nothing, where
    the same filter as a subquery cost the first list page a third of its speed."""
    if user is None or sees_every_camera(user=user):
        return None
    if isinstance(user, AnonymousUser):
        return []
    ids: list[uuid.UUID] | None = getattr(user, "_vas_visible_device_ids", None)
    if ids is None:
        ids = _device_ids_of(user=user)
        user._vas_visible_device_ids = ids  # type: ignore[attr-defined]
    return ids


def _device_ids_of(*, user: User) -> list[uuid.UUID]:
    if camera_limit(user=user) is not None:
        return list(devices_visible(user=user).values_list("pk", flat=True))
    # devices_visible's rule on the two link tables alone (a third of its query's time).
    groups = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    links = Device.groups.through.objects.filter(group_id__in=groups)
    return list(links.values_list("device_id", flat=True).distinct())


@dataclass(frozen=True)
class DeviceSelection:
    devices: list[Device]
    # The references (ids or names, as given) that name no camera.
    missing: list[str]


def _as_uuid(reference: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(reference)
    except ValueError:
        return None


def devices_select(
    *, user: Viewer, references: Iterable[str | uuid.UUID] = (), all_enabled: bool = False
) -> DeviceSelection:
    """Every enabled camera, or the cameras named by id or name in the order given, each once;
    of those the user may see (a camera they may not see is missing, as one that does not exist).

    The API's batch capture, the capture_snapshot command and the Celery task all look
    cameras up here. Two queries, however many references.
    """
    visible = devices_visible(user=user)
    if all_enabled:
        return DeviceSelection(devices=list(visible.filter(enabled=True)), missing=[])
    wanted = list(dict.fromkeys(str(reference) for reference in references))
    ids = {reference: pk for reference in wanted if (pk := _as_uuid(reference)) is not None}
    by_id = visible.in_bulk(list(ids.values()))
    by_name = visible.in_bulk([reference for reference in wanted if reference not in ids], field_name="name")
    devices: dict[uuid.UUID, Device] = {}
    missing = []
    for reference in wanted:
        device = by_id.get(ids[reference]) if reference in ids else by_name.get(reference)
        if device is None:
            missing.append(reference)
        else:
            devices.setdefault(device.pk, device)
    return DeviceSelection(devices=list(devices.values()), missing=missing)


def device_get(*, device_id: str | uuid.UUID, user: Viewer) -> Device | None:
    """One camera by id; None when there is none, the user may not see it, or the id is not a UUID."""
    pk = _as_uuid(str(device_id))
    return devices_visible(user=user).filter(pk=pk).first() if pk is not None else None


@dataclass(frozen=True)
class Retention:
    # 0 means no limit.
    days: int
    max_snapshots: int
    max_bytes: int


def device_retention(*, device: Device) -> Retention:
    """The camera's retention: its own values, else the global defaults. Values stored before
    the bounds existed count as the bound."""
    days = device.retention_days
    most = device.retention_max_snapshots
    most_bytes = device.retention_max_bytes
    return Retention(
        days=min(days if days is not None else settings.RETENTION_DAYS, MAX_RETENTION_DAYS),
        max_snapshots=min(most if most is not None else settings.RETENTION_MAX_SNAPSHOTS, MAX_RETENTION_SNAPSHOTS),
        max_bytes=min(most_bytes if most_bytes is not None else settings.RETENTION_MAX_BYTES, MAX_RETENTION_BYTES),
    )


def device_capture_interval_s(*, device: Device) -> int:
    """Seconds between the camera's scheduled captures (0: none): its own value, else the default."""
    interval = device.capture_interval_s
    return min(interval if interval is not None else settings.CAPTURE_INTERVAL_S, MAX_CAPTURE_INTERVAL_S)


@dataclass(frozen=True)
class Storage:
    """What one camera (or several) stores: image bytes (from file_size; thumbnails not
    counted), snapshots, the oldest and newest capture times."""

    bytes: int = 0
    snapshots: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None


def _snapshots() -> QuerySet[Any]:
    # Reached through the relation, as devices/ never imports snapshots/.
    return Device._meta.get_field("snapshots").related_model._default_manager.order_by()


def device_storage(*, device_ids: Iterable[uuid.UUID] | None) -> dict[uuid.UUID, Storage]:
    """What each of these cameras stores (None: every camera): bytes and rows from its storage
    totals (one row per camera, kept by every write of snapshots), oldest and newest from two
    index lookups per camera; no snapshot is summed and no image is read. A camera with no
    snapshot is not in the answer."""
    totals = DeviceStorage.objects.filter(snapshots__gt=0)
    if device_ids is not None:
        totals = totals.filter(device_id__in=list(device_ids))
    of_camera = _snapshots().filter(device_id=OuterRef("device_id"))
    rows = totals.annotate(
        oldest=Subquery(of_camera.order_by("captured_at").values("captured_at")[:1]),
        newest=Subquery(of_camera.order_by("-captured_at").values("captured_at")[:1]),
    ).values_list("device_id", "bytes", "snapshots", "oldest", "newest")
    return {
        device_id: Storage(bytes=size, snapshots=count, oldest=oldest, newest=newest)
        for device_id, size, count, oldest, newest in rows
    }


def device_storage_counted(*, device_id: uuid.UUID) -> Storage:
    """What the camera stores, summed from its snapshots: one grouped query that PostgreSQL
    answers from the (device, captured_at, id, file_size) index alone. What the storage totals
    are recounted from."""
    counted = _snapshots().filter(device_id=device_id).aggregate(size=Sum("file_size"), count=Count("*"))
    return Storage(bytes=counted["size"] or 0, snapshots=counted["count"])


def device_onvif_host(*, device: Device) -> str:
    """Where the camera's ONVIF service answers: its onvif_host, or its RTSP URL's host."""
    return device.onvif_host or url_endpoint(device.rtsp_url)[1]


def device_camera(*, device: Device) -> Camera:
    """The camera as capture/ takes it: plain values, the password decrypted."""
    return Camera(
        id=device.pk,
        name=device.name,
        rtsp_url=device.rtsp_url,
        username=device.username,
        password=device.password,
        tls_verify=device.tls_verify,
        snapshot_url=device.snapshot_url,
        frame_source=device.frame_source,
        live=device.live,
        onvif_host=device_onvif_host(device=device),
        onvif_port=device.onvif_port,
        onvif_profile=device.onvif_profile,
        password_unreadable=device.password_unreadable,
    )


def groups_visible(*, user: Viewer) -> QuerySet[Group]:
    """The camera groups a user may see and give a camera: their own; every group for those
    who see every camera."""
    limit = camera_limit(user=user)
    if limit is not None and isinstance(user, User):
        groups = Group.objects.all() if user_sees_every_camera(user=user) else user.groups.all()
        return groups.filter(pk__in=limit.group_ids)
    if sees_every_camera(user=user):
        return Group.objects.all()
    if user is None or not user.is_authenticated:
        return Group.objects.none()
    return Group.objects.filter(pk__in=user.groups.values("pk"))


def groups_assignable(*, user: Viewer, device: Device | None = None) -> QuerySet[Group]:
    """The groups a user may give a camera: every group for superusers (and the product itself,
    None); for others, their own groups, and those the camera (when editing) is in already, which
    may stay or be taken off."""
    if user is None or getattr(user, "is_superuser", False):
        return Group.objects.all()
    theirs = Q(pk__in=user.groups.values("pk")) if user.is_authenticated else Q(pk__in=[])
    if device is not None and device.pk is not None and not device._state.adding:
        theirs |= Q(pk__in=Device.groups.through.objects.filter(device_id=device.pk).values("group_id"))
    return Group.objects.filter(theirs)
