"""Reads on snapshots. Listing and metadata never load image bytes."""

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet

from devices.models import Device
from devices.selectors import Viewer, device_ids_visible
from snapshots.models import Snapshot

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
    """Only the snapshots of cameras the user may see (devices.selectors.devices_visible): one
    query for the camera ids, then an IN on the indexed device column; nothing for a user who
    sees every camera."""
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
    return snapshot_metadata_queryset().filter(device=device).order_by("-captured_at").first()


def snapshot_bytes(*, snapshot_id: uuid.UUID | str, column: str) -> bytes:
    """The bytes of one image column ("image" or "thumbnail") of one snapshot."""
    value = Snapshot.objects.filter(pk=snapshot_id).values_list(column, flat=True).get()
    return bytes(value)
