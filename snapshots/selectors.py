"""Reads on snapshots. Listing and metadata never load image bytes."""

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import connection
from django.db.models import Count, QuerySet, Sum

from devices.models import Device
from devices.selectors import Viewer, device_ids_visible, device_storage
from snapshots.models import Snapshot
from vas_project import crypto

# What an answer shows of a snapshot, in order: the one list that the serializer's fields,
# the listing's columns and the metadata query all derive from. "device" is the camera's
# id and name. Adding a field is adding it here (and to the model).
SNAPSHOT_FIELDS = (
    "id",
    "device",
    "width",
    "height",
    "file_size",
    "content_type",
    "captured_at",
    "trigger",
    "keep",
    "source",
    "frame_age_ms",
)

# Everything a metadata answer reads, and nothing it does not (no image bytes, no camera
# password from the joined device row).
METADATA_FIELDS = (*(name for name in SNAPSHOT_FIELDS if name != "device"), "device__id", "device__name")

# What a listing reads of each snapshot. Listings read rows as named tuples, not models:
# building a Snapshot and a Device for every row took a quarter of a 100-row page's time.
LIST_COLUMNS = tuple("device_id" if name == "device" else name for name in SNAPSHOT_FIELDS)


def snapshots_visible(*, rows: QuerySet[Snapshot], user: Viewer) -> QuerySet[Snapshot]:
    """Only the snapshots of cameras the user may see (devices.selectors.devices_visible): an IN
    on the indexed device column; nothing added for a user who sees every camera."""
    device_ids = device_ids_visible(user=user)
    return rows if device_ids is None else rows.filter(device_id__in=device_ids)


def snapshot_metadata_queryset() -> QuerySet[Snapshot]:
    return Snapshot.objects.select_related("device").only(*METADATA_FIELDS)


def snapshot_list_queryset() -> QuerySet[Snapshot]:
    """Listing rows with the same attribute names as a Snapshot; the camera's name is not
    among them (see device_names), so counting and paging need no join."""
    return Snapshot.objects.values_list(*LIST_COLUMNS, named=True)  # type: ignore[return-value]


def device_names(*, device_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these cameras, in one query."""
    return dict(Device.objects.filter(pk__in=set(device_ids)).values_list("pk", "name"))


def snapshot_latest_for_device(*, device: Device) -> Snapshot | None:
    return snapshot_metadata_queryset().filter(device=device).order_by("-captured_at", "-id").first()


DIRECTIONS = ("before", "after", "nearest")


def snapshot_at(*, device: Device, moment: datetime, direction: str) -> Snapshot | None:
    """The camera's snapshot at moment or the closest one before it, after it, or on either
    side (a tie goes to the earlier): each side is one seek on the (device, captured_at) index."""
    rows = snapshot_metadata_queryset().filter(device=device)
    before = (
        rows.filter(captured_at__lte=moment).order_by("-captured_at", "-id").first() if direction != "after" else None
    )
    after = (
        rows.filter(captured_at__gte=moment).order_by("captured_at", "id").first() if direction != "before" else None
    )
    if before is None or after is None:
        return before or after
    return before if moment - before.captured_at <= after.captured_at - moment else after


def snapshot_bytes(*, snapshot_id: uuid.UUID, column: str) -> bytes:
    """The bytes of one image column ("image" or "thumbnail") of one snapshot; Snapshot.DoesNotExist
    when it is gone (deleted since its row was read)."""
    data = snapshot_image_bytes(snapshot_id=snapshot_id, column=column)
    if data is None:
        raise Snapshot.DoesNotExist(f"snapshot {snapshot_id}")
    return data


IMAGE_COLUMNS = ("image", "thumbnail")


def snapshot_image_bytes(*, snapshot_id: uuid.UUID, column: str) -> bytes | None:
    """The JPEG of one image column of one snapshot (decrypted when it is stored encrypted;
    crypto.ImageUnreadable when it cannot be), None when there is no such snapshot: the
    signed image route's only query. On PostgreSQL the bytes come in psycopg's binary format:
    its text format sends bytea as hex, twice the bytes and four times the time for a 1080p frame."""
    if column not in IMAGE_COLUMNS:
        raise ValueError(f"not an image column: {column}")
    if connection.vendor != "postgresql":
        rows = Snapshot.objects.filter(pk=snapshot_id).order_by().values_list(column, "key_id")
        row = next(iter(rows[:1]), None)
    else:
        sql = f'SELECT "{column}", "key_id" FROM "{Snapshot._meta.db_table}" WHERE "id" = %s'  # noqa: S608 - a column of IMAGE_COLUMNS
        connection.ensure_connection()
        # A server-side-binding cursor of psycopg's own: Django's client-side cursors cannot ask for binary.
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            row = cursor.execute(sql, [snapshot_id], binary=True).fetchone()
    if row is None:
        return None
    stored, key_id = row
    return crypto.image_unseal(stored=bytes(stored), snapshot_id=snapshot_id, column=column, key_id=key_id)


@dataclass(frozen=True)
class RangeSummary:
    frames: int
    total_bytes: int


def _in_range(*, device_id: uuid.UUID, start: datetime, end: datetime) -> QuerySet[Snapshot]:
    # start included, end excluded: consecutive ranges never share a snapshot.
    return Snapshot.objects.filter(device_id=device_id, captured_at__gte=start, captured_at__lt=end)


def snapshot_range_summary(*, device_id: uuid.UUID, start: datetime, end: datetime) -> RangeSummary:
    """How many snapshots one camera has in [start, end) and their image bytes, from the
    stored sizes: no image is read."""
    totals = _in_range(device_id=device_id, start=start, end=end).aggregate(frames=Count("pk"), size=Sum("file_size"))
    return RangeSummary(frames=totals["frames"], total_bytes=totals["size"] or 0)


def snapshot_images_in_range(
    *, device_id: uuid.UUID, start: datetime, end: datetime, limit: int, chunk_size: int = 32
) -> Iterator[tuple[datetime, bytes | None]]:
    """(captured_at, JPEG) of one camera's snapshots in [start, end), oldest first, at most
    limit of them; the bytes are read chunk_size at a time, so memory stays flat. A snapshot
    deleted (pruned) while this runs is skipped; one whose image cannot be decrypted comes
    with None."""
    rows = _in_range(device_id=device_id, start=start, end=end).order_by("captured_at", "pk")
    listed = list(rows.values_list("pk", "captured_at")[:limit])
    for first in range(0, len(listed), chunk_size):
        chunk = listed[first : first + chunk_size]
        stored = Snapshot.objects.filter(pk__in=[pk for pk, _ in chunk]).values_list("pk", "image", "key_id")
        images = {pk: (image, key_id) for pk, image, key_id in stored}
        for pk, captured_at in chunk:
            if pk in images:
                yield captured_at, _unsealed_or_none(pk, *images[pk])


def _unsealed_or_none(snapshot_id: uuid.UUID, stored: bytes | memoryview, key_id: str) -> bytes | None:
    try:
        return crypto.image_unseal(stored=bytes(stored), snapshot_id=snapshot_id, column="image", key_id=key_id)
    except crypto.ImageUnreadable:
        return None


@dataclass(frozen=True)
class StorageUsage:
    bytes: int
    snapshots: int
    cameras: int
    oldest: datetime | None
    newest: datetime | None


def storage_usage(*, user: Viewer) -> StorageUsage:
    """What the cameras the user may see store in all: their figures (devices.selectors.device_storage)
    added up."""
    per_camera = list(device_storage(device_ids=device_ids_visible(user=user)).values())
    oldest = [storage.oldest for storage in per_camera if storage.oldest is not None]
    newest = [storage.newest for storage in per_camera if storage.newest is not None]
    return StorageUsage(
        bytes=sum(storage.bytes for storage in per_camera),
        snapshots=sum(storage.snapshots for storage in per_camera),
        cameras=len(per_camera),
        oldest=min(oldest, default=None),
        newest=max(newest, default=None),
    )
