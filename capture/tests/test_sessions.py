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
    settings.LIVE_OFFLINE_AFTER_KEYFRAMES, settings.LIVE_SILENCE_MIN_S = 3, 1.0
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


def short_gop_session(*, last_keyframe_at: float, last_packet_at: float | None) -> CameraSession:
    session = CameraSession(Camera(id=uuid.uuid4(), name="gate", rtsp_url="rtsp://127.0.0.1:1/x"))
    session.connected_at, session.keyframe_interval_s = 900.0, 0.2
    session.last_keyframe_at, session.last_packet_at = last_keyframe_at, last_packet_at
    return session


def test_a_short_keyframe_interval_gets_the_floor_before_the_camera_is_called_silent(settings):
    # 3 x 0.2 s would call a camera silent after 0.6 s: a busy keeper sees keyframes that late.
    settings.LIVE_OFFLINE_AFTER_KEYFRAMES, settings.LIVE_SILENCE_MIN_S = 3, 10.0
    assert short_gop_session(last_keyframe_at=995.0, last_packet_at=None).read(now=1000.0).healthy
    assert not short_gop_session(last_keyframe_at=985.0, last_packet_at=None).read(now=1000.0).healthy


def test_a_stream_whose_packets_still_arrive_gets_longer_before_it_is_called_silent(settings):
    settings.LIVE_OFFLINE_AFTER_KEYFRAMES, settings.LIVE_SILENCE_MIN_S = 3, 10.0
    assert short_gop_session(last_keyframe_at=985.0, last_packet_at=999.5).read(now=1000.0).healthy
    assert not short_gop_session(last_keyframe_at=975.0, last_packet_at=999.5).read(now=1000.0).healthy
