"""The stream keeper: one RTSP session per live camera for the whole deployment.

`manage.py run_stream_keeper` runs a Keeper. Each enabled camera with `live` on gets a
CameraSession thread that reads its stream with PyAV, in this process: packets are only
demuxed, never decoded, and each keyframe is published as it came off the wire (see
snapshots.live). Readers decode it when they need a picture. No ffmpeg process is started,
so no camera password ever appears in a process's argv, and a keeper killed with
`kill -9` leaves nothing behind.

Several keepers share the cameras: `--shard K/N` splits them by id, and a lease per camera
(Redis SET NX in the live store) makes sure no camera is held twice; a dead keeper's leases
lapse after LIVE_LEASE_S and another keeper takes its cameras over.

The keeper also keeps each camera's status: online while keyframes arrive, offline after
LIVE_OFFLINE_AFTER_KEYFRAMES keyframe intervals without one, or when the session fails.
"""

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque

import av
from django import db
from django.conf import settings

from devices.models import Device
from devices.services import (
    device_keyframe_request,
    device_record_capture_failure,
    device_record_capture_success,
)
from monitoring import metrics
from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat
from snapshots import live
from snapshots.errors import CaptureError
from snapshots.rtsp import open_stream, stream_error

logger = logging.getLogger(__name__)

TICK_S = 1.0
# The keyframe interval assumed until two keyframes were seen.
DEFAULT_KEYFRAME_INTERVAL_S = 2.0
# The camera's keyframe interval is the longest of its last this many: a keyframe someone asked
# for (a capture, over ONVIF) splits one interval in two, and the shorter part is no measure.
INTERVALS_KEPT = 8
# While keyframes arrive, last_seen_at is brought up to date this often.
SEEN_REFRESH_S = 30.0
RECONNECT_MIN_S = 1.0
# How often the keeper writes its heartbeat (monitoring.Heartbeat) for the status page and /metrics.
HEARTBEAT_S = 10.0


def session_identity(device: Device) -> str:
    """Changes when the URL or a credential changes, so the session reconnects; holds no secret in clear."""
    identity = f"{device.pk}\n{device.rtsp_url}\n{device.username}\n{device.password}\n{device.tls_verify}"
    identity += f"\n{device.onvif_host}\n{device.onvif_port}\n{device.onvif_profile}"
    return hashlib.sha256(identity.encode()).hexdigest()


class CameraSession(threading.Thread):
    """One camera's RTSP session, reconnecting with backoff until stopped."""

    def __init__(self, device: Device):
        super().__init__(daemon=True, name=f"camera-{device.pk}")
        self.device = device
        self.identity = session_identity(device)
        self.stopping = threading.Event()
        # Read by the keeper's loop; each is replaced whole, never mutated in place.
        self.connected_at: float | None = None
        self.last_keyframe_at: float | None = None
        self.keyframe_interval_s = DEFAULT_KEYFRAME_INTERVAL_S
        self._intervals: deque[float] = deque(maxlen=INTERVALS_KEPT)
        self._last_keyframe_pts: int | None = None
        self.seq = 0
        self.error: CaptureError | None = None
        self.errors = 0
        # Made here, in the keeper's thread: the session's thread reads no database.
        self.ask_for_keyframe = device_keyframe_request(device=device)
        # The keyframe asked for on connecting is no measure of the camera's interval: its own
        # next one may follow a moment later. Set on each connect that asked; the first keyframe
        # clears it.
        self._asked = False

    def run(self) -> None:
        backoff_s = RECONNECT_MIN_S
        while not self.stopping.is_set():
            if self.errors or self.seq:
                metrics.KEEPER_RECONNECTS.labels(device_id=str(self.device.pk), device=self.device.name).inc()
            try:
                self._hold()
            except Exception as exc:
                self.error = stream_error(exc)
                self.errors += 1
                logger.info("live session to device %s failed: %s", self.device.pk, self.error.code)
            else:
                backoff_s = RECONNECT_MIN_S
            finally:
                self.connected_at = None
            if self.stopping.wait(backoff_s):
                break
            backoff_s = min(backoff_s * 2, settings.LIVE_RECONNECT_MAX_S)

    def _hold(self) -> None:
        if self.device.password_unreadable:
            raise CaptureError(code="password_unreadable")
        device = self.device
        timeout_s = settings.CAPTURE_TIMEOUT_S
        url, username, password = device.rtsp_url, device.username, device.password
        with open_stream(
            url, username=username, password=password, timeout_s=timeout_s, quick=False, tls_verify=device.tls_verify
        ) as (
            container,
            stream,
        ):
            context = stream.codec_context
            self.connected_at = time.time()
            self.last_keyframe_at = None
            self._last_keyframe_pts = None
            if self.ask_for_keyframe is not None:  # live at once, not at the camera's next keyframe
                self._asked = True
                self.ask_for_keyframe()
            for packet in container.demux(stream):
                if self.stopping.is_set():
                    return
                if packet.is_keyframe and packet.size and not packet.is_corrupt:
                    self._publish(packet, context)

    def _publish(self, packet: av.Packet, context: av.VideoCodecContext) -> None:
        now = time.time()
        # The interval from the camera's own timestamps: arrival times are bunched up just
        # after connecting, when the demuxer hands out what it buffered while probing.
        if self._asked:
            self._asked = False
        elif packet.pts is not None and packet.time_base is not None:
            if self._last_keyframe_pts is not None and packet.pts > self._last_keyframe_pts:
                self._intervals.append(float((packet.pts - self._last_keyframe_pts) * packet.time_base))
                self.keyframe_interval_s = min(max(max(self._intervals), 0.04), 60.0)
            self._last_keyframe_pts = packet.pts
        self.last_keyframe_at = now
        self.seq += 1
        frame = live.LiveFrame(
            seq=self.seq,
            captured_at=now,
            codec=context.name,
            extradata=bytes(context.extradata or b""),
            packet=bytes(packet),
            width=context.width,
            height=context.height,
        )
        try:
            live.live_frame_publish(device_id=self.device.pk, frame=frame)
        except Exception as exc:  # the store is down: keep the camera's session, try with the next keyframe
            logger.warning("publishing device %s's keyframe failed: %s", self.device.pk, type(exc).__name__)

    def healthy(self, now: float) -> bool:
        """Connected, and a keyframe came recently enough (or may still come, just after connecting)."""
        if self.connected_at is None:
            return False
        silence_limit = self.keyframe_interval_s * settings.LIVE_OFFLINE_AFTER_KEYFRAMES
        if self.last_keyframe_at is None:
            return now - self.connected_at <= max(silence_limit, settings.CAPTURE_TIMEOUT_S)
        return now - self.last_keyframe_at <= silence_limit


class Keeper:
    """Holds the sessions of the cameras in its shard whose lease it has."""

    def __init__(self, *, shard: tuple[int, int] = (1, 1)):
        self.shard = shard
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sessions: dict[uuid.UUID, CameraSession] = {}
        self.stopping = threading.Event()
        # Per device: what the keeper last wrote on it ("online" at a time, or an error count).
        self._seen_at: dict[uuid.UUID, float] = {}
        self._errors_recorded: dict[uuid.UUID, int] = {}
        self._silence_recorded: set[uuid.UUID] = set()
        self._beat_at = 0.0

    def in_shard(self, device_id: uuid.UUID) -> bool:
        index, count = self.shard
        return device_id.int % count == index - 1

    def wanted(self) -> dict[uuid.UUID, Device]:
        devices = Device.objects.filter(enabled=True, live=True).only(
            "id", "name", "rtsp_url", "username", "password", "tls_verify", "onvif_host", "onvif_port", "onvif_profile"
        )
        return {device.pk: device for device in devices if self.in_shard(device.pk)}

    def tick(self) -> None:
        wanted = self.wanted()
        for device_id, session in list(self.sessions.items()):
            device = wanted.get(device_id)
            keep = device is not None and session_identity(device) == session.identity
            if not keep or not live.live_lease_take(device_id=device_id, keeper=self.name):
                self._stop(device_id)
        for device_id, device in wanted.items():
            if device_id not in self.sessions and live.live_lease_take(device_id=device_id, keeper=self.name):
                session = self.sessions[device_id] = CameraSession(device)
                session.start()
        now = time.time()
        healthy = {
            device_id: live.LiveSession(
                keeper=self.name,
                keyframe_interval_s=session.keyframe_interval_s,
                since=session.connected_at or now,
                last_keyframe_at=session.last_keyframe_at,
            )
            for device_id, session in self.sessions.items()
            if session.healthy(now)
        }
        live.live_sessions_refresh(sessions=healthy)
        live.live_sessions_forget(device_ids=[device_id for device_id in self.sessions if device_id not in healthy])
        for device_id, session in self.sessions.items():
            self._record_status(session, healthy=device_id in healthy, now=now)
        if now - self._beat_at >= HEARTBEAT_S:
            heartbeat_beat(component=Heartbeat.Component.KEEPER, name=self.name)
            self._beat_at = now

    def _record_status(self, session: CameraSession, *, healthy: bool, now: float) -> None:
        device_id = session.device.pk
        if healthy and session.last_keyframe_at is not None:
            self._silence_recorded.discard(device_id)
            if now - self._seen_at.get(device_id, 0.0) >= SEEN_REFRESH_S:
                device_record_capture_success(device=session.device)
                self._seen_at[device_id] = now
            return
        if session.errors != self._errors_recorded.get(device_id, 0) and session.error is not None:
            error = session.error
            self._errors_recorded[device_id] = session.errors
        elif session.connected_at is not None and not healthy and device_id not in self._silence_recorded:
            waited_s = now - (session.last_keyframe_at or session.connected_at)
            error = CaptureError(f"The camera sent no keyframe for {waited_s:.0f} s.", code="timeout")
            self._silence_recorded.add(device_id)
        else:
            return
        self._seen_at.pop(device_id, None)
        device_record_capture_failure(
            device=session.device, code=error.code, message=str(error), offline=error.failure.offline
        )

    def _stop(self, device_id: uuid.UUID) -> None:
        session = self.sessions.pop(device_id)
        session.stopping.set()
        live.live_forget(device_id=device_id)
        live.live_lease_release(device_id=device_id, keeper=self.name)
        self._seen_at.pop(device_id, None)
        self._errors_recorded.pop(device_id, None)
        self._silence_recorded.discard(device_id)

    def run(self) -> None:
        """Tick every second until stop(); then close every session."""
        logger.info("stream keeper %s started (shard %d/%d)", self.name, *self.shard)
        try:
            while not self.stopping.is_set():
                started = time.monotonic()
                try:
                    self.tick()
                except Exception:  # the keeper must outlive a database or store outage
                    logger.exception("stream keeper tick failed")
                    db.close_old_connections()
                self.stopping.wait(max(0.0, TICK_S - (time.monotonic() - started)))
        finally:
            for device_id in list(self.sessions):
                self._stop(device_id)
            # This thread's connection: a keeper in a thread must not hold the database open after it.
            db.connection.close()
            logger.info("stream keeper %s stopped", self.name)

    def stop(self) -> None:
        self.stopping.set()
