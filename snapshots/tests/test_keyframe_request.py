"""Keyframes on request against the real test camera: its /on-request path sends a keyframe only
when its ONVIF service is asked (SetSynchronizationPoint), so a grab or a keeper session that
does not ask never gets a frame there, and one that asks gets it at once."""

from fractions import Fraction

import av
import pytest

from capture import live
from capture.errors import CaptureError
from capture.sessions import DEFAULT_KEYFRAME_INTERVAL_S, CameraSession
from devices.models import Device
from devices.selectors import device_camera
from snapshots import services
from snapshots.models import Snapshot
from snapshots.tests.servers import wait_for
from snapshots.tests.test_keeper import held, run_keeper  # noqa: F401 - the fixture

CAMERA_USER, CAMERA_PASSWORD = "camuser", "cam-secret-Pa55"


@pytest.fixture(autouse=True)
def fresh_media_services():
    from capture import onvif

    onvif._media_services.clear()


def on_request_camera(camera, **fields) -> Device:
    values = {
        "name": "on-request",
        "rtsp_url": camera.url("on-request"),
        "onvif_port": camera.onvif_port,
        "onvif_profile": "main",
        "username": CAMERA_USER,
        "password": CAMERA_PASSWORD,
        "live": False,
    }
    return Device.objects.create(**{**values, **fields})


@pytest.mark.django_db
def test_a_oneshot_grab_asks_the_camera_for_a_keyframe_instead_of_waiting_for_one(camera, settings):
    settings.CAPTURE_TIMEOUT_S = 3
    snapshot = services.snapshot_capture(device=on_request_camera(camera), trigger=Snapshot.Trigger.API)
    assert (snapshot.source, snapshot.width, snapshot.height) == (Snapshot.Source.ONESHOT, 640, 360)
    # Without the profile nothing is asked, and this camera sends no keyframe of its own.
    silent = on_request_camera(camera, name="not asked", onvif_profile="")
    with pytest.raises(CaptureError) as failed:
        services.snapshot_capture(device=silent, trigger=Snapshot.Trigger.API)
    assert failed.value.code == "timeout"


@pytest.mark.django_db
@pytest.mark.parametrize("problem", ["wrong password", "not an ONVIF service"])
def test_a_camera_that_refuses_the_request_is_grabbed_at_its_own_next_keyframe(camera, settings, caplog, problem):
    settings.CAPTURE_TIMEOUT_S = 5
    fields = {"rtsp_url": camera.url("fast")}  # a keyframe every 0.2 s, and no RTSP password asked
    # "not an ONVIF service": the camera's RTSP port, which answers the POST as RTSP.
    fields |= {"password": "Wrong-Guess-4"} if problem == "wrong password" else {"onvif_port": camera.port}
    snapshot = services.snapshot_capture(device=on_request_camera(camera, **fields), trigger=Snapshot.Trigger.API)
    assert snapshot.source == Snapshot.Source.ONESHOT
    wait_for(lambda: "ONVIF keyframe request" in caplog.text, timeout_s=3, what="the failed request logged")
    assert "Wrong-Guess-4" not in caplog.text


def test_a_keeper_session_asks_for_a_keyframe_and_is_live_at_once(camera, run_keeper):  # noqa: F811
    device = on_request_camera(camera, live=True)
    run_keeper()
    wait_for(lambda: held(device), timeout_s=10, what="a live frame of a camera sending keyframes only on request")
    assert live.live_frame(device_id=device.pk).width == 640


def keyframe_at(seconds: float) -> av.Packet:
    packet = av.Packet(b"\x00\x00\x00\x01\x65\x88")
    packet.time_base = Fraction(1, 90000)
    packet.pts = round(seconds * 90000)
    return packet


@pytest.mark.django_db
def test_the_keyframe_asked_for_is_no_measure_of_the_cameras_keyframe_interval():
    # Asked for on connecting at 10.0 s, the camera's own keyframes come at 10.2 s, 12.2 s, 14.2 s, 16.2 s
    # and one more at 13.0 s that a capture asked for: neither 0.2 s nor 0.8 s nor 1.2 s is its interval,
    # and taken as one it would have the camera called silent after 3 x that.
    device = Device.objects.create(name="asked", rtsp_url="rtsp://127.0.0.1:1/x", onvif_profile="main")
    session = CameraSession(device_camera(device=device))
    assert session.ask_for_keyframe is not None
    session._asked = True  # as _hold sets it when it asks, right after connecting
    context = av.CodecContext.create("h264", "r")
    intervals = []
    for seconds in (10.0, 10.2, 12.2, 13.0, 14.2, 16.2):
        session._publish(keyframe_at(seconds), context)
        intervals.append(round(session.keyframe_interval_s, 3))
    assert intervals == [DEFAULT_KEYFRAME_INTERVAL_S, DEFAULT_KEYFRAME_INTERVAL_S, 2.0, 2.0, 2.0, 2.0]


def test_a_capture_that_needs_a_newer_frame_than_the_keepers_asks_the_camera_for_one(camera, run_keeper):  # noqa: F811
    device = on_request_camera(camera, live=True)
    run_keeper()
    wait_for(lambda: held(device), timeout_s=10, what="a live frame of the camera")
    first = live.live_frame(device_id=device.pk)
    # max_age 0: only a keyframe after the request will do, and this camera sends one only when asked.
    snapshot = services.snapshot_capture(device=device, trigger=Snapshot.Trigger.API, max_age_s=0)
    assert snapshot.source == Snapshot.Source.LIVE
    assert live.live_frame(device_id=device.pk).seq > first.seq
