"""Where a capture's frame comes from, in one table: each source says when it applies to a
camera and how it grabs. A capture tries the sources that apply, in the table's order, and
takes the first frame one gives. A new kind of source is a module of its own beside rtsp.py
and still.py, plus one row here."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from capture import live, onvif, rtsp, still
from capture.camera import Camera
from capture.errors import CaptureError

# The least time a one-shot grab gets, even when waiting on a keeper used up the timeout.
ONESHOT_MIN_S = 1.0
# A one-shot grab that got this much less than the capture timeout was cut short.
SHORTENED_S = 0.25


@dataclass(frozen=True)
class Frame:
    jpeg: bytes
    # The name of the source that gave it (a row of SOURCES).
    source: str
    # When the frame arrived, on time.time()'s clock (the keeper may run in another process).
    arrived_at: float


@dataclass(frozen=True)
class Source:
    name: str
    applies: Callable[[Camera], bool]
    # Returns a frame, or None when the source has none to give (the next source is tried);
    # raises CaptureError when the camera failed. Gets the camera, the capture's max_age_s and
    # the monotonic deadline of the whole capture.
    grab: Callable[[Camera, float | None, float], Frame | None]


def _live_applies(camera: Camera) -> bool:
    return camera.live and camera.frame_source != "still"


def _still_applies(camera: Camera) -> bool:
    return bool(camera.snapshot_url) and camera.frame_source != "rtsp"


def _grab_live(camera: Camera, max_age_s: float | None, deadline: float) -> Frame | None:
    """The keeper's frame when it holds the camera; a camera with a still URL does not wait
    for the keeper's next keyframe, since its still image answers at once."""
    wait_s = 0 if _still_applies(camera) else deadline - time.monotonic()
    held = live.live_image(
        device_id=camera.id, max_age_s=max_age_s, timeout_s=wait_s, on_wait=onvif.keyframe_request(camera)
    )
    if held is None:
        return None
    return Frame(jpeg=held.jpeg, source="live", arrived_at=held.frame.captured_at)


def _time_left_s(deadline: float) -> float:
    return max(ONESHOT_MIN_S, deadline - time.monotonic())


def _grab_still(camera: Camera, max_age_s: float | None, deadline: float) -> Frame:
    jpeg = still.fetch_still(
        camera.snapshot_url,
        username=camera.username,
        password=camera.password,
        timeout_s=_time_left_s(deadline),
        max_bytes=settings.CAPTURE_MAX_IMAGE_BYTES,
        tls_verify=camera.tls_verify,
    )
    return Frame(jpeg=jpeg, source="still", arrived_at=time.time())


def _grab_oneshot(camera: Camera, max_age_s: float | None, deadline: float) -> Frame:
    # A keeper that went away while we waited leaves the one-shot grab the rest of the time.
    timeout_s = _time_left_s(deadline)
    try:
        jpeg = rtsp.grab_jpeg(
            camera.rtsp_url,
            username=camera.username,
            password=camera.password,
            timeout_s=timeout_s,
            max_bytes=settings.CAPTURE_MAX_IMAGE_BYTES,
            tls_verify=camera.tls_verify,
            on_playing=onvif.keyframe_request(camera),
        )
    except CaptureError as error:
        if error.code == "timeout" and settings.CAPTURE_TIMEOUT_S - timeout_s > SHORTENED_S:
            # Timed out in what the wait on the keeper left: that says nothing of the camera.
            error.offline = error.conclusive = False
        raise
    return Frame(jpeg=jpeg, source="oneshot", arrived_at=time.time())


SOURCES = (
    # The newest keyframe of the stream the keeper holds open.
    Source("live", applies=_live_applies, grab=_grab_live),
    # The camera's own still image over HTTP (its snapshot URL), at once, with no keyframe wait.
    Source("still", applies=_still_applies, grab=_grab_still),
    # A grab of its own: connect, wait for the next keyframe, decode it.
    Source("oneshot", applies=lambda camera: True, grab=_grab_oneshot),
)
SOURCE_NAMES = tuple(source.name for source in SOURCES)


def grab(camera: Camera, *, max_age_s: float | None) -> Frame:
    """A frame from the first source that applies to the camera and has one; raises CaptureError."""
    deadline = time.monotonic() + settings.CAPTURE_TIMEOUT_S
    for source in SOURCES:
        if source.applies(camera) and (frame := source.grab(camera, max_age_s, deadline)) is not None:
            return frame
    raise CaptureError(code="capture_failed")  # unreachable: the one-shot grab always applies
