"""The stream keeper's sessions: one RTSP session per live camera for the whole deployment.

`manage.py run_stream_keeper` runs a Keeper (snapshots.keeper, which says which cameras to hold
and writes what the sessions find on the register). Each camera it names gets a
CameraSession thread that reads its stream with PyAV, in this process: packets are only
demuxed, never decoded, and each keyframe is published as it came off the wire (see
capture.live). Readers decode it when they need a picture. No ffmpeg process is started,
so no camera password ever appears in a process's argv, and a keeper killed with
`kill -9` leaves nothing behind.

Several keepers share the cameras: `--shard K/N` splits them by id, and a lease per camera
(Redis SET NX in the live store) makes sure no camera is held twice; a dead keeper's leases
lapse after LIVE_LEASE_S and another keeper takes its cameras over.

The keeper also tells each camera's status: online while keyframes arrive, failed after
LIVE_OFFLINE_AFTER_KEYFRAMES keyframe intervals without one, or when the session fails. It
calls camera_online and camera_failed with plain values; this module reads no database.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import av
from django.conf import settings

from capture import live, onvif
from capture.camera import Camera
from capture.errors import CaptureError
from capture.rtsp import open_stream, stream_error
from vas_project import metrics

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
# How often the keeper beats (Keeper.beat) for the status page and /metrics.
HEARTBEAT_S = 10.0


class CameraSession(threading.Thread):
    """One camera's RTSP session, reconnecting with backoff until stopped."""

    def __init__(self, camera: Camera):
        super().__init__(daemon=True, name=f"camera-{camera.id}")
        self.camera = camera
        self.stopping = threading.Event()
        # Read by the keeper's loop; each is replaced whole, never mutated in place.
        self.connected_at: float | None = None
        self.last_keyframe_at: float | None = None
        self.last_packet_at: float | None = None
        self.keyframe_interval_s = DEFAULT_KEYFRAME_INTERVAL_S
        self._intervals: deque[float] = deque(maxlen=INTERVALS_KEPT)
        self._last_keyframe_pts: int | None = None
        self.seq = 0
        self.error: CaptureError | None = None
        self.errors = 0
        self.ask_for_keyframe = onvif.keyframe_request(camera)
        # The keyframe asked for on connecting is no measure of the camera's interval: its own
        # next one may follow a moment later. Set on each connect that asked; the first keyframe
        # clears it.
        self._asked = False
        # What the keeper last told of this session: online at a time, or its errors up to a count.
        self.online_told_at = 0.0
        self.errors_told = 0
        self.silence_told = False

    def run(self) -> None:
        backoff_s = RECONNECT_MIN_S
        while not self.stopping.is_set():
            if self.errors or self.seq:
                metrics.KEEPER_RECONNECTS.labels(device_id=str(self.camera.id), device=self.camera.name).inc()
            try:
                self._hold()
            except Exception as exc:
                self.error = stream_error(exc)
                self.errors += 1
                logger.info("live session to device %s failed: %s", self.camera.id, self.error.code)
            else:
                backoff_s = RECONNECT_MIN_S
            finally:
                self.connected_at = None
            if self.stopping.wait(backoff_s):
                break
            backoff_s = min(backoff_s * 2, settings.LIVE_RECONNECT_MAX_S)

    def _hold(self) -> None:
        camera = self.camera
        if camera.password_unreadable:
            raise CaptureError(code="password_unreadable")
        timeout_s = settings.CAPTURE_TIMEOUT_S
        url, username, password = camera.rtsp_url, camera.username, camera.password
        with open_stream(
            url, username=username, password=password, timeout_s=timeout_s, quick=False, tls_verify=camera.tls_verify
        ) as (
            container,
            stream,
        ):
            context = stream.codec_context
            self.connected_at = time.time()
            self.last_keyframe_at = self.last_packet_at = None
            self._last_keyframe_pts = None
            if self.ask_for_keyframe is not None:  # live at once, not at the camera's next keyframe
                self._asked = True
                self.ask_for_keyframe()
            for packet in container.demux(stream):
                if self.stopping.is_set():
                    return
                self.last_packet_at = time.time()
                if packet.is_keyframe and packet.size and not packet.is_corrupt:
                    self._publish(packet, context)

    def _publish(self, packet: "av.Packet[Any]", context: av.VideoCodecContext) -> None:
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
            live.live_frame_publish(device_id=self.camera.id, frame=frame)
        except Exception as exc:  # the store is down: keep the camera's session, try with the next keyframe
            logger.warning("publishing device %s's keyframe failed: %s", self.camera.id, type(exc).__name__)

    def read(self, now: float) -> "Reading":
        """The session as it stands at now, read once: its thread goes on changing it meanwhile,
        and a keyframe arriving between two reads would make one tick disagree with itself."""
        connected_at, last_keyframe_at, interval_s = self.connected_at, self.last_keyframe_at, self.keyframe_interval_s
        last_packet_at = self.last_packet_at
        return Reading(
            now=now,
            connected_at=connected_at,
            last_keyframe_at=last_keyframe_at,
            keyframe_interval_s=interval_s,
            healthy=_healthy(now, connected_at, last_keyframe_at, interval_s, last_packet_at),
        )


def _healthy(
    now: float,
    connected_at: float | None,
    last_keyframe_at: float | None,
    interval_s: float,
    last_packet_at: float | None,
) -> bool:
    """Connected, and a keyframe came recently enough (or may still come, just after connecting):
    within LIVE_OFFLINE_AFTER_KEYFRAMES intervals, never less than LIVE_SILENCE_MIN_S, and twice
    that while the stream's packets still arrive (its keyframes are late, the stream is not gone)."""
    if connected_at is None:
        return False
    silence_limit = max(interval_s * settings.LIVE_OFFLINE_AFTER_KEYFRAMES, settings.LIVE_SILENCE_MIN_S)
    if last_packet_at is not None and now - last_packet_at <= settings.LIVE_SILENCE_MIN_S:
        silence_limit *= 2
    if last_keyframe_at is None:
        return now - connected_at <= max(silence_limit, settings.CAPTURE_TIMEOUT_S)
    return now - last_keyframe_at <= silence_limit


@dataclass(frozen=True)
class Reading:
    now: float
    connected_at: float | None
    last_keyframe_at: float | None
    keyframe_interval_s: float
    healthy: bool


class Keeper:
    """Holds the sessions of the cameras in its shard whose lease it has. Which cameras those
    are (wanted), and what becomes of what it tells (camera_online, camera_failed, beat), is
    its subclass's business: the keeper's database side."""

    def __init__(self, *, shard: tuple[int, int] = (1, 1)):
        self.shard = shard
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sessions: dict[uuid.UUID, CameraSession] = {}
        self.stopping = threading.Event()
        self._beat_at = 0.0

    def in_shard(self, camera_id: uuid.UUID) -> bool:
        index, count = self.shard
        return camera_id.int % count == index - 1

    def wanted(self) -> dict[uuid.UUID, Camera]:
        """The cameras to hold (those of this shard), by id."""
        raise NotImplementedError

    def camera_online(self, camera: Camera) -> None:
        """Keyframes arrive: told at once and every SEEN_REFRESH_S while they do."""
        raise NotImplementedError

    def camera_failed(self, camera: Camera, error: CaptureError) -> None:
        """The session failed, or its keyframes stopped: told once per failure."""
        raise NotImplementedError

    def beat(self) -> None:
        """The keeper is alive: every HEARTBEAT_S."""
        raise NotImplementedError

    def on_tick_failed(self) -> None:
        """A tick failed (the database or the store is down): the keeper goes on at the next."""

    def on_stopped(self) -> None:
        """The keeper stopped and closed every session."""

    def tick(self) -> None:
        wanted = self.wanted()
        for camera_id, session in list(self.sessions.items()):
            camera = wanted.get(camera_id)
            keep = camera is not None and camera.identity == session.camera.identity
            if not keep or not live.live_lease_take(device_id=camera_id, keeper=self.name):
                self._stop(camera_id)
        for camera_id, camera in wanted.items():
            if camera_id not in self.sessions and live.live_lease_take(device_id=camera_id, keeper=self.name):
                session = self.sessions[camera_id] = CameraSession(camera)
                session.start()
        now = time.time()
        readings = {camera_id: session.read(now) for camera_id, session in self.sessions.items()}
        healthy = {
            camera_id: live.LiveSession(
                keeper=self.name,
                keyframe_interval_s=reading.keyframe_interval_s,
                since=reading.connected_at or now,
                last_keyframe_at=reading.last_keyframe_at,
            )
            for camera_id, reading in readings.items()
            if reading.healthy
        }
        live.live_sessions_refresh(sessions=healthy)
        live.live_sessions_forget(device_ids=[camera_id for camera_id in self.sessions if camera_id not in healthy])
        for camera_id, session in self.sessions.items():
            self._tell_status(session, readings[camera_id])
        if now - self._beat_at >= HEARTBEAT_S:
            self.beat()
            self._beat_at = now

    def _tell_status(self, session: CameraSession, reading: Reading) -> None:
        now = reading.now
        if reading.healthy and reading.last_keyframe_at is not None:
            session.silence_told = False
            if now - session.online_told_at >= SEEN_REFRESH_S:
                self.camera_online(session.camera)
                session.online_told_at = now
            return
        if session.errors != session.errors_told and session.error is not None:
            error = session.error
            session.errors_told = session.errors
        elif reading.connected_at is not None and not reading.healthy and not session.silence_told:
            waited_s = now - (reading.last_keyframe_at or reading.connected_at)
            error = CaptureError(f"The camera sent no keyframe for {waited_s:.0f} s.", code="timeout")
            session.silence_told = True
        else:
            return
        session.online_told_at = 0.0
        self.camera_failed(session.camera, error)

    def _stop(self, camera_id: uuid.UUID) -> None:
        session = self.sessions.pop(camera_id)
        session.stopping.set()
        live.live_forget(device_id=camera_id)
        live.live_lease_release(device_id=camera_id, keeper=self.name)

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
                    self.on_tick_failed()
                self.stopping.wait(max(0.0, TICK_S - (time.monotonic() - started)))
        finally:
            for camera_id in list(self.sessions):
                self._stop(camera_id)
            self.on_stopped()
            logger.info("stream keeper %s stopped", self.name)

    def stop(self) -> None:
        self.stopping.set()
