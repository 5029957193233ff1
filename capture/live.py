"""Live frames: what the stream keeper publishes and every web and worker process reads.

The keeper (capture.sessions) holds one RTSP session per camera and publishes, in the
"live" cache (Redis, or files on one machine), two records per camera:

- the session: which keeper holds the camera and its keyframe interval, refreshed every
  second and gone LIVE_SESSION_TTL_S after the keeper stops refreshing it;
- the frame: the newest keyframe as it came off the wire (a few tens of KB), its codec
  parameters and when it arrived.

A reader decodes the keyframe to JPEG on demand (10-40 ms), and the JPEG is cached per
frame, so the keeper never decodes: 200 cameras cost it only the demuxing.
"""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.cache import BaseCache, caches

from capture import rtsp
from capture.errors import CaptureError

logger = logging.getLogger(__name__)

# How often a capture waiting for a newer keyframe looks for one.
POLL_S = 0.02
# A rendered JPEG is kept this long for the next reader of the same frame (a camera wall).
RENDERED_TTL_S = 30
# A frame outlives its session record long enough to be read by whoever saw the session.
FRAME_TTL_S = 60


@dataclass(frozen=True)
class LiveSession:
    keeper: str
    # Seconds between the camera's last two keyframes (2.0 until two were seen).
    keyframe_interval_s: float
    # Wall-clock time (time.time()) the session was opened.
    since: float
    # Wall-clock time its newest keyframe arrived (None: none yet), as of the keeper's last tick.
    last_keyframe_at: float | None = None


@dataclass(frozen=True)
class LiveFrame:
    seq: int
    # Wall-clock time (time.time()) the keyframe arrived.
    captured_at: float
    codec: str
    extradata: bytes
    packet: bytes
    width: int
    height: int

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.captured_at)


@dataclass(frozen=True)
class LiveImage:
    jpeg: bytes
    frame: LiveFrame


def _store() -> BaseCache:
    return caches["live"]


def _session_key(device_id: uuid.UUID) -> str:
    return f"live:session:{device_id}"


def _frame_key(device_id: uuid.UUID) -> str:
    return f"live:frame:{device_id}"


def _lease_key(device_id: uuid.UUID) -> str:
    return f"live:lease:{device_id}"


def _read(key: str) -> Any:
    """A store that cannot be read (Redis down) is as good as no keeper: captures go one-shot."""
    try:
        return _store().get(key)
    except Exception as exc:
        logger.warning("the live store cannot be read (%s); answering without live frames", type(exc).__name__)
        return None


def live_session(*, device_id: uuid.UUID) -> LiveSession | None:
    return cast(LiveSession | None, _read(_session_key(device_id)))


def live_sessions(*, device_ids: list[uuid.UUID]) -> dict[uuid.UUID, LiveSession]:
    """The sessions of those cameras a keeper holds, in one read of the store."""
    try:
        found = _store().get_many([_session_key(device_id) for device_id in device_ids])
    except Exception as exc:
        logger.warning("the live store cannot be read (%s); answering without live sessions", type(exc).__name__)
        return {}
    return {device_id: found[key] for device_id in device_ids if (key := _session_key(device_id)) in found}


def live_frame(*, device_id: uuid.UUID) -> LiveFrame | None:
    return cast(LiveFrame | None, _read(_frame_key(device_id)))


# The keeper's side.


def live_sessions_refresh(*, sessions: dict[uuid.UUID, LiveSession]) -> None:
    if sessions:
        _store().set_many({_session_key(key): value for key, value in sessions.items()}, settings.LIVE_SESSION_TTL_S)


def live_sessions_forget(*, device_ids: list[uuid.UUID]) -> None:
    """Captures stop waiting on these cameras' sessions at once and grab one-shot instead."""
    if device_ids:
        _store().delete_many([_session_key(device_id) for device_id in device_ids])


def live_frame_publish(*, device_id: uuid.UUID, frame: LiveFrame) -> None:
    _store().set(_frame_key(device_id), frame, FRAME_TTL_S)


def live_forget(*, device_id: uuid.UUID) -> None:
    _store().delete_many([_session_key(device_id), _frame_key(device_id)])


def live_lease_take(*, device_id: uuid.UUID, keeper: str) -> bool:
    """Hold the camera for this keeper: True when it is free or already this keeper's.

    Redis's SET NX makes taking a free lease atomic between keepers; a keeper renews its
    leases every second, and a dead keeper's leases lapse after LIVE_LEASE_S.
    """
    store = _store()
    key = _lease_key(device_id)
    if store.add(key, keeper, settings.LIVE_LEASE_S):
        return True
    if store.get(key) == keeper:
        store.touch(key, settings.LIVE_LEASE_S)
        return True
    return False


def live_lease_release(*, device_id: uuid.UUID, keeper: str) -> None:
    store = _store()
    if store.get(_lease_key(device_id)) == keeper:
        store.delete(_lease_key(device_id))


# The readers' side.


def live_render(frame: LiveFrame, *, device_id: uuid.UUID) -> bytes | None:
    """The keyframe as JPEG, decoded once per frame for all readers; None when it is damaged."""
    key = f"live:jpeg:{device_id}"
    stamp = (frame.seq, frame.captured_at)
    rendered = _read(key)
    if rendered is not None and rendered[0] == stamp:
        return cast(bytes | None, rendered[1])
    jpeg = rtsp.decode_keyframe(codec=frame.codec, extradata=frame.extradata, packet=frame.packet)
    with contextlib.suppress(Exception):  # only a cache: the next reader decodes again
        _store().set(key, (stamp, jpeg), RENDERED_TTL_S)
    return jpeg


def live_image(
    *,
    device_id: uuid.UUID,
    max_age_s: float | None,
    timeout_s: float,
    on_wait: Callable[[], object] | None = None,
) -> LiveImage | None:
    """The camera's newest keyframe as JPEG, at most max_age_s old (None: one keyframe
    interval) when asked; 0 waits for the next one, up to timeout_s. A damaged keyframe is
    passed over for the next one. None when no keeper holds the camera, or it stopped
    holding it while we waited. on_wait, when given, is called once, when the wait for a newer
    keyframe begins, and must return at once (it asks the camera for one)."""
    asked_at = time.time()
    deadline = time.monotonic() + timeout_s
    passed_over = 0.0  # when the newest damaged keyframe arrived
    waiting = False
    while (session := live_session(device_id=device_id)) is not None:
        limit = session.keyframe_interval_s if max_age_s is None else max_age_s
        frame = live_frame(device_id=device_id)
        if frame is not None and frame.captured_at > passed_over and frame.captured_at >= asked_at - limit:
            jpeg = live_render(frame, device_id=device_id)
            if jpeg is not None:
                return LiveImage(jpeg=jpeg, frame=frame)
            passed_over = frame.captured_at
        if on_wait is not None and not waiting and timeout_s > 0:
            on_wait()
        waiting = True
        if time.monotonic() >= deadline:
            if passed_over:
                raise CaptureError("The camera's keyframes arrived damaged.", code="invalid_image")
            raise CaptureError(
                f"The camera's live session had no keyframe younger than {limit:g} s within {timeout_s:g} s.",
                code="timeout",
            )
        time.sleep(POLL_S)
    return None
