"""The stream keeper's sessions on plain values: what it tells of a camera, read once a tick."""

import uuid

from capture.camera import Camera
from capture.errors import CaptureError
from capture.sessions import CameraSession, Keeper


class TellingKeeper(Keeper):
    """The keeper with its database side replaced by a list of what it told."""

    def __init__(self) -> None:
        super().__init__()
        self.told: list[tuple[str, str]] = []

    def camera_online(self, camera: Camera) -> None:
        self.told.append(("online", ""))

    def camera_failed(self, camera: Camera, error: CaptureError) -> None:
        self.told.append((error.code, str(error)))


def test_a_keyframe_arriving_during_a_tick_does_not_make_the_camera_silent_for_minus_0_s(settings):
    settings.LIVE_OFFLINE_AFTER_KEYFRAMES = 3
    session = CameraSession(Camera(id=uuid.uuid4(), name="gate", rtsp_url="rtsp://127.0.0.1:1/x"))
    session.connected_at, session.last_keyframe_at, session.keyframe_interval_s = 1000.0, 1000.0, 2.0
    reading = session.read(now=1010.0)  # 10 s without a keyframe: silent
    session.last_keyframe_at = 1010.5  # the session's thread gets one right after the tick's reading
    keeper = TellingKeeper()
    keeper._tell_status(session, reading)
    assert keeper.told == [("timeout", "The camera sent no keyframe for 10 s.")]


def test_a_healthy_reading_tells_online_once_until_the_refresh(settings):
    session = CameraSession(Camera(id=uuid.uuid4(), name="gate", rtsp_url="rtsp://127.0.0.1:1/x"))
    session.connected_at, session.last_keyframe_at = 1000.0, 1009.0
    keeper = TellingKeeper()
    keeper._tell_status(session, session.read(now=1010.0))
    keeper._tell_status(session, session.read(now=1011.0))
    assert keeper.told == [("online", "")]
