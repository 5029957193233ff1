"""Open camera streams kept between captures, so a capture answers with the newest keyframe at once.

A one-shot grab has to connect and then wait for the camera's next keyframe
(1-4 s on real cameras). When VAS_STREAM_KEEPALIVE_S is above zero, the first
capture of a camera also starts one long-running ffmpeg that decodes only the
keyframes of its stream to JPEG; later captures take the newest of those while
it is younger than VAS_STREAM_MAX_FRAME_AGE_S. A stream nobody captured from for
VAS_STREAM_KEEPALIVE_S is closed. Streams live in this process: each web or
worker process keeps its own.
"""

import hashlib
import logging
import os
import subprocess
import threading
import time

from django.conf import settings

from devices.models import Device
from snapshots import ffmpeg

logger = logging.getLogger(__name__)

JPEG_END = b"\xff\xd9"
READ_CHUNK_BYTES = 256 * 1024


class LiveStream:
    """One ffmpeg process writing a JPEG per keyframe, and the newest of them."""

    def __init__(self, process: subprocess.Popen[bytes]):
        self.process = process
        self.lock = threading.Lock()
        self.latest: bytes | None = None
        self.latest_at = 0.0
        self.last_used = time.monotonic()
        self.reader = threading.Thread(target=self._read, daemon=True, name="stream-reader")
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # noqa: S101 - set by PIPE
        buffer = b""
        while chunk := os.read(self.process.stdout.fileno(), READ_CHUNK_BYTES):
            buffer += chunk
            # The mjpeg encoder writes whole JPEGs back to back, each ending at EOI.
            while (end := buffer.find(JPEG_END)) >= 0:
                frame, buffer = buffer[: end + 2], buffer[end + 2 :]
                with self.lock:
                    self.latest, self.latest_at = frame, time.monotonic()

    def fresh_frame(self, *, max_age_s: float) -> tuple[bytes, float] | None:
        """The newest keyframe and when it arrived (time.monotonic()), if not older than max_age_s."""
        with self.lock:
            self.last_used = time.monotonic()
            if self.latest is not None and self.last_used - self.latest_at <= max_age_s:
                return self.latest, self.latest_at
        return None

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


_streams: dict[str, LiveStream] = {}
_streams_lock = threading.Lock()
_reaper: threading.Thread | None = None


def _stream_key(device: Device) -> str:
    # A changed URL or credential opens a new stream; the key holds no secret in clear.
    identity = f"{device.pk}\n{device.rtsp_url}\n{device.username}\n{device.password}"
    return hashlib.sha256(identity.encode()).hexdigest()


def _start(device: Device) -> LiveStream:
    process = ffmpeg.start_keyframe_stream(
        device.rtsp_url, username=device.username, password=device.password, timeout_s=settings.CAPTURE_TIMEOUT_S
    )
    return LiveStream(process)


def stream_frame(device: Device) -> tuple[bytes, float] | None:
    """The newest keyframe of the device's kept stream and when it arrived (time.monotonic()), if
    fresh; starts the stream if none runs."""
    key = _stream_key(device)
    with _streams_lock:
        stream = _streams.get(key)
        if stream is None or not stream.alive():
            stream = _streams[key] = _start(device)
            _ensure_reaper()
            return None
    return stream.fresh_frame(max_age_s=settings.STREAM_MAX_FRAME_AGE_S)


def streams_close_idle(*, idle_s: float) -> int:
    """Close streams unused for idle_s seconds, and dead ones; return how many were closed."""
    now = time.monotonic()
    with _streams_lock:
        stale = [key for key, stream in _streams.items() if not stream.alive() or now - stream.last_used > idle_s]
        closing = [_streams.pop(key) for key in stale]
    for stream in closing:
        stream.close()
    return len(closing)


def _reap_forever() -> None:
    while True:
        time.sleep(1)
        try:
            streams_close_idle(idle_s=settings.STREAM_KEEPALIVE_S)
        except Exception:  # the reaper must outlive any one failure
            logger.exception("closing idle camera streams failed")


def _ensure_reaper() -> None:
    global _reaper
    if _reaper is None or not _reaper.is_alive():
        _reaper = threading.Thread(target=_reap_forever, daemon=True, name="stream-reaper")
        _reaper.start()
