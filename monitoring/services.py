"""Writes of monitoring: heartbeats of the background processes and the captures' tallies."""

import os
import socket
import uuid
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from monitoring.models import CaptureTally, Heartbeat

TALLY_SLOT_S = 300
# Tallies older than this are deleted by the prune: the status page looks back one hour.
TALLY_KEPT_S = 2 * 24 * 3600

# When this process started, for its heartbeat row.
_started_at = timezone.now()


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_beat(*, component: str, name: str | None = None) -> None:
    """Record that this process (of the component) is alive now."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(
        component=component,
        name=name or process_name(),
        defaults={"beat_at": now},
        create_defaults={"beat_at": now, "started_at": _started_at},
    )


def tally_slot(moment: datetime) -> datetime:
    return datetime.fromtimestamp(moment.timestamp() // TALLY_SLOT_S * TALLY_SLOT_S, tz=moment.tzinfo)


def capture_tally_add(*, device_id: uuid.UUID, ok: bool) -> None:
    """Count one capture of the camera (or one failure) in the current five-minute slot."""
    slot = tally_slot(timezone.now())
    column = "captures" if ok else "failures"
    if not CaptureTally.objects.filter(device_id=device_id, slot=slot).update(**{column: F(column) + 1}):
        tally, created = CaptureTally.objects.get_or_create(device_id=device_id, slot=slot, defaults={column: 1})
        if not created:  # created by another capture in between
            CaptureTally.objects.filter(pk=tally.pk).update(**{column: F(column) + 1})


def monitoring_prune(*, now: datetime | None = None) -> int:
    """Delete tallies older than TALLY_KEPT_S and heartbeats of processes silent that long; return how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=TALLY_KEPT_S)
    tallies = CaptureTally.objects.filter(slot__lt=cutoff).delete()[0]
    return tallies + Heartbeat.objects.filter(beat_at__lt=cutoff).delete()[0]
