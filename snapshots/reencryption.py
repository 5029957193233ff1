"""Moving every stored image to the current key (manage.py reencrypt_snapshots)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from snapshots import selectors
from snapshots.models import Snapshot
from vas_project import crypto


@dataclass(frozen=True)
class SnapshotReencryption:
    moved: int
    # Rows whose key is not in VAS_ENCRYPTION_KEYS (or whose bytes were altered): left as they are.
    unreadable: int


def _reseal(row: tuple[uuid.UUID, str, bytes, bytes], target: str) -> dict[str, object]:
    pk, key_id, *stored = row
    sealed: dict[str, object] = {"key_id": target}
    for column, data in zip(selectors.IMAGE_COLUMNS, stored, strict=True):
        plain = crypto.image_unseal(stored=bytes(data), snapshot_id=pk, column=column, key_id=key_id)
        sealed[column] = crypto.image_seal(data=plain, snapshot_id=pk, column=column, key_id=target)
    return sealed


def snapshots_reencrypt(
    *, batch_size: int = 50, on_progress: Callable[[int, int], None] | None = None
) -> SnapshotReencryption:
    """Move every snapshot to the current key: the newest of VAS_ENCRYPTION_KEYS when
    VAS_IMAGE_ENCRYPTION is on, plain bytes when it is off. In batches of batch_size rows by id,
    each row a compare-and-set on its key id, so captures, prunes and another run may go on
    meanwhile; stopped, it resumes where it was (only rows under another key are read).
    on_progress(rows done, rows to do) after each batch."""
    target = crypto.target_key_id()
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
            except crypto.ImageUnreadable:
                unreadable += 1
                continue
            moved += Snapshot.objects.filter(pk=row[0], key_id=row[1]).update(**sealed)
        if on_progress is not None:
            on_progress(moved + unreadable, total)
    return SnapshotReencryption(moved=moved, unreadable=unreadable)
