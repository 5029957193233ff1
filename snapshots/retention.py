"""Retention: snapshots kept or not, pruned by each camera's rules, deleted with their totals."""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum, Window
from django.utils import timezone

from devices.models import Device
from devices.selectors import device_retention
from devices.services import device_storage_add, device_storage_recount
from monitoring.services import monitoring_prune
from snapshots.models import Snapshot
from vas_project import metrics

logger = logging.getLogger(__name__)


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


def snapshots_prune_all() -> int:
    """The daily chore: every camera's retention; how many snapshots went."""
    return sum(result.deleted for result in snapshot_prune())
