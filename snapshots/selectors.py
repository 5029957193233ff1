"""Reads on snapshots. Listing and metadata never load image bytes."""

from django.db.models import QuerySet

from snapshots.models import Snapshot

IMAGE_COLUMNS = ("image", "thumbnail")


def snapshot_metadata_queryset() -> QuerySet[Snapshot]:
    return Snapshot.objects.defer(*IMAGE_COLUMNS).select_related("device")
