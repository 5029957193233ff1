"""Reads of monitoring: how each camera and each background process is doing, for the status
page, /api/health and /metrics."""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from capture import live
from devices.models import Device
from devices.selectors import Storage, Viewer, device_capture_interval_s, device_storage, devices_visible
from jobs.models import Job
from monitoring.models import CaptureTally, Heartbeat
from monitoring.services import tally_slot

# A process whose heartbeat is older than this is taken for dead: three of its beats missed. The
# keeper beats every 10 s and a Celery worker every 15 s; the scheduler at each tick (run_scheduler:
# 5 s, but a prune can hold a tick for minutes) or each minute (Celery beat's enqueue task).
HEARTBEAT_STALE_S = {"keeper": 60, "worker": 60, "scheduler": 180}
# A live camera whose newest keyframe is older than this is stale; so is a scheduled camera
# whose newest snapshot is older than two of its intervals and this.
STALE_AFTER_S = 60
# Failing: more than this share of the last hour's captures failed.
FAILING_RATIO = 0.2


@dataclass(frozen=True)
class ComponentStatus:
    component: str
    # The newest heartbeat of any of its processes, and how many beat recently.
    last_beat_at: datetime | None
    running: int
    # False: it should run and does not; None: never seen, and nothing needs it.
    ok: bool | None


def components_status(*, now: datetime | None = None) -> list[ComponentStatus]:
    """The stream keeper, the scheduler and the Celery workers, from their heartbeats. The
    keeper is needed when a camera has live mode on."""
    now = now or timezone.now()
    fresh = Q()
    for component, stale_s in HEARTBEAT_STALE_S.items():
        fresh |= Q(component=component, beat_at__gte=now - timedelta(seconds=stale_s))
    beats = {
        row["component"]: row
        for row in Heartbeat.objects.values("component").annotate(
            newest=Max("beat_at"), running=Count("pk", filter=fresh)
        )
    }
    keeper_needed = Device.objects.filter(enabled=True, live=True).exists()
    statuses = []
    for component in Heartbeat.Component.values:
        row = beats.get(component)
        running = row["running"] if row else 0
        if running:
            ok: bool | None = True
        elif row is not None or (component == Heartbeat.Component.KEEPER and keeper_needed):
            ok = False
        else:
            ok = None
        statuses.append(
            ComponentStatus(component=component, last_beat_at=row["newest"] if row else None, running=running, ok=ok)
        )
    return statuses


@dataclass(frozen=True)
class CameraStatus:
    device: Device
    # offline, failing, stale, unknown, ok or disabled: the order of the status page.
    state: str
    # Seconds since the newest frame: the keeper's, else the newest snapshot's (None: neither).
    frame_age_s: float | None
    live_up: bool
    # Seconds since the keeper's newest keyframe (None: no live session, or no keyframe yet).
    live_frame_age_s: float | None
    captures_last_hour: int
    failures_last_hour: int
    storage: Storage


STATES = ["offline", "failing", "stale", "unknown", "ok", "disabled"]


def _tallies_last_hour(device_ids: list[uuid.UUID], now: datetime) -> dict[uuid.UUID, tuple[int, int]]:
    rows = (
        CaptureTally.objects.filter(device_id__in=device_ids, slot__gte=tally_slot(now - timedelta(hours=1)))
        .values("device_id")
        .annotate(captures=Sum("captures"), failures=Sum("failures"))
    )
    return {row["device_id"]: (row["captures"], row["failures"]) for row in rows}


def _state(device: Device, *, frame_age_s: float | None, live_up: bool, captures: int, failures: int) -> str:
    if not device.enabled:
        return "disabled"
    if device.status == Device.Status.OFFLINE:
        return "offline"
    if failures and failures > FAILING_RATIO * (captures + failures):
        return "failing"
    interval_s = device_capture_interval_s(device=device)
    if device.live and (not live_up or (frame_age_s is not None and frame_age_s > STALE_AFTER_S)):
        return "stale"
    if not device.live and interval_s and (frame_age_s is None or frame_age_s > 2 * interval_s + STALE_AFTER_S):
        return "stale"
    if device.status == Device.Status.UNKNOWN:
        return "unknown"
    return "ok"


def cameras_status(*, user: Viewer, now: datetime | None = None) -> list[CameraStatus]:
    """Every camera the user may see, worst first (then by name). One query per kind of figure
    and one read of the live store, however many cameras."""
    now = now or timezone.now()
    # Never the password: it is not shown, and decrypting every camera's on each scrape costs.
    devices: QuerySet[Device] = devices_visible(user=user).defer("password").order_by("name")
    device_list = list(devices)
    device_ids = [device.pk for device in device_list]
    storage = device_storage(device_ids=device_ids)
    sessions = live.live_sessions(device_ids=[device.pk for device in device_list if device.live])
    tallies = _tallies_last_hour(device_ids, now)
    wall_now = time.time()
    statuses = []
    for device in device_list:
        session = sessions.get(device.pk)
        stored = storage.get(device.pk, Storage())
        live_frame_age_s = None
        if session is not None and session.last_keyframe_at is not None:
            live_frame_age_s = max(0.0, wall_now - session.last_keyframe_at)
        frame_age_s = live_frame_age_s
        if frame_age_s is None and stored.newest is not None:
            frame_age_s = max(0.0, (now - stored.newest).total_seconds())
        captures, failures = tallies.get(device.pk, (0, 0))
        live_up = session is not None
        state = _state(device, frame_age_s=frame_age_s, live_up=live_up, captures=captures, failures=failures)
        statuses.append(
            CameraStatus(
                device=device,
                state=state,
                frame_age_s=frame_age_s,
                live_up=live_up,
                live_frame_age_s=live_frame_age_s,
                captures_last_hour=captures,
                failures_last_hour=failures,
                storage=stored,
            )
        )
    statuses.sort(key=lambda status: STATES.index(status.state))
    return statuses


def jobs_by_state() -> dict[str, int]:
    counted = dict(Job.objects.order_by().values_list("state").annotate(count=Count("pk")))
    return {state: counted.get(state, 0) for state in Job.State.values}
