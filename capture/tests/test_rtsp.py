"""The rtsp module (PyAV, in-process) against the real test camera and real broken cameras."""

import io
import os
import threading
import time

import pytest
from PIL import Image

from capture import rtsp
from capture.errors import CAPTURE_FAILURES, CaptureError
from snapshots.tests.servers import (
    CAMERA_PASSWORD,
    CAMERA_USER,
    DamagingProxy,
    TlsCamera,
    all_command_lines,
    children_of,
    make_certificate,
)

MAX_BYTES = 20 * 1024 * 1024


def grab(url: str, **kwargs) -> bytes:
    return rtsp.grab_jpeg(url, timeout_s=kwargs.pop("timeout_s", 8), max_bytes=MAX_BYTES, **kwargs)


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("h264", (1920, 1080)),
        ("bframes", (1920, 1080)),
        ("h265", (1280, 720)),
        ("h265-bframes", (1280, 720)),
        ("long-gop", (1280, 720)),
        ("audio", (1280, 720)),
        ("fast", (640, 360)),
    ],
)
def test_grab_returns_a_jpeg_of_the_stream_size(camera, path, size):
    data = grab(camera.url(path))
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.size == size


def test_grab_with_credentials(camera):
    data = grab(camera.url("auth"), username=CAMERA_USER, password=CAMERA_PASSWORD)
    assert Image.open(io.BytesIO(data)).size == (640, 360)


def test_wrong_password_is_auth_failed_without_the_password(camera):
    with pytest.raises(CaptureError) as caught:
        grab(camera.url("auth"), username=CAMERA_USER, password="Wrong-Pa55-xyz")
    assert caught.value.code == "auth_failed"
    assert "authentication failed" in str(caught.value)
    assert "Wrong-Pa55-xyz" not in str(caught.value) + repr(caught.value)


def test_missing_credentials_is_auth_failed(camera):
    with pytest.raises(CaptureError) as caught:
        grab(camera.url("auth"))
    assert caught.value.code == "auth_failed"


def test_unknown_path_is_stream_not_found(camera):
    with pytest.raises(CaptureError) as caught:
        grab(camera.url("no-such-path"))
    assert caught.value.code == "stream_not_found"


def test_nothing_listening_fails_fast_as_unreachable(refused_url):
    started = time.monotonic()
    with pytest.raises(CaptureError) as caught:
        grab(refused_url)
    assert caught.value.code == "unreachable"
    assert time.monotonic() - started < 2


def test_silent_camera_times_out_within_the_timeout(silent_server):
    started = time.monotonic()
    with pytest.raises(CaptureError) as caught:
        grab(silent_server.url(), timeout_s=2)
    elapsed = time.monotonic() - started
    assert caught.value.code == "timeout"
    assert 1.5 < elapsed < 2 + rtsp.GIVE_UP_MARGIN_S + 0.5


def test_credentials_are_percent_encoded_in_the_url():
    url = rtsp.url_with_credentials("rtsp://127.0.0.1:554/a", "us er", "p@ss:w/rd")
    assert url == "rtsp://us%20er:p%40ss%3Aw%2Frd@127.0.0.1:554/a"


@pytest.mark.parametrize("path", ["bframes", "h265-bframes"])
def test_b_frames_do_not_hold_the_keyframe_back(camera, path):
    # Keyframes every 2 s. Decoding keyframes only, a decoder that reorders B-frames handed the
    # first one out after two more keyframes (4.3-8 s); now it is the first keyframe after the
    # join (at most one interval, 2 s, plus connecting; 4.6 s at worst measured under load).
    started = time.monotonic()
    grab(camera.url(path))
    assert time.monotonic() - started < 6.5


def test_a_keyframe_cut_off_mid_frame_is_invalid_image_not_a_smeared_picture(camera):
    proxy = DamagingProxy(camera.port, cut=True)
    try:
        with pytest.raises(CaptureError) as caught:
            grab(proxy.url("h264"))
    finally:
        proxy.close()
    assert proxy.damaged.is_set()
    assert caught.value.code == "invalid_image"


def test_a_damaged_keyframe_is_skipped_for_a_whole_one(camera):
    proxy = DamagingProxy(camera.port, cut=False)
    try:
        data = grab(proxy.url("h264"))
    finally:
        proxy.close()
    assert proxy.damaged.is_set()
    assert proxy.clients == 1  # the damaged keyframe was passed over for the next one of the same session
    image = Image.open(io.BytesIO(data))
    image.load()  # the whole scan decodes
    assert image.size == (1920, 1080)


@pytest.mark.parametrize("url", ["file:/etc/hostname", "/etc/hostname", "http://127.0.0.1:1/a.m3u8", "rtsp:///a"])
def test_only_rtsp_urls_are_opened(url, monkeypatch):
    def no_open(*args, **kwargs):
        raise AssertionError("a stream was opened")

    monkeypatch.setattr(rtsp.av, "open", no_open)
    with pytest.raises(CaptureError) as caught:
        grab(url)
    assert caught.value.code == "invalid_url"


def test_image_over_the_limit_is_refused(camera):
    with pytest.raises(CaptureError) as caught:
        rtsp.grab_jpeg(camera.url("fast"), timeout_s=8, max_bytes=1000)
    assert caught.value.code == "image_too_large"


@pytest.mark.parametrize(
    ("stderr", "code"),
    [
        ("[rtsp @ 0x55d1] method DESCRIBE failed: 401 Unauthorized", "auth_failed"),
        ("[rtsp @ 0x55d1] method DESCRIBE failed: 403 Forbidden", "auth_failed"),
        ("rtsp://127.0.0.1:9/a: Connection refused", "unreachable"),
        ("rtsp://192.0.2.1/a: No route to host", "unreachable"),
        ("rtsp://camera.invalid/a: Name or service not known", "unreachable"),
        ("[tcp @ 0x55d1] Connection to tcp://127.0.0.1:554 failed: Connection timed out", "timeout"),
        ("[rtsp @ 0x55d1] method DESCRIBE failed: 404 Not Found", "stream_not_found"),
        ("Stream map '0:v:0' matches no streams.", "not_video"),
    ],
)
def test_ffmpeg_error_texts_name_their_failure(stderr, code):
    assert rtsp.classify_failure(stderr).code == code


def test_every_stderr_phrase_of_the_table_names_its_own_failure():
    # No phrase is shadowed by an earlier row of the table.
    for failure in CAPTURE_FAILURES.values():
        for phrase in failure.error_phrases:
            assert rtsp.classify_failure(phrase).code == failure.code


def test_an_upper_case_scheme_captures_like_a_lower_case_one(camera):
    # The model accepts RTSP:// (schemes are case-insensitive); FFmpeg's protocol names are not.
    data = grab(camera.url("fast").replace("rtsp://", "RTSP://"))
    assert Image.open(io.BytesIO(data)).size == (640, 360)


def test_a_grab_starts_no_process_and_puts_the_password_in_no_argv(silent_server):
    errors = []

    def grab_from_a_hanging_camera():
        try:
            grab(silent_server.url(), username="cam", password=CAMERA_PASSWORD, timeout_s=2)
        except CaptureError as error:
            errors.append(error.code)

    children_before = children_of(os.getpid())  # the test camera's server, say
    grabber = threading.Thread(target=grab_from_a_hanging_camera)
    grabber.start()
    looks = 0
    while grabber.is_alive():
        assert children_of(os.getpid()) == children_before
        assert not [line for line in all_command_lines() if CAMERA_PASSWORD in line]
        looks += 1
        time.sleep(0.2)
    assert looks >= 5
    assert silent_server.connections  # it was connected while we looked
    assert errors == ["timeout"]


def test_health_reports_the_decoders_cameras_need(monkeypatch):
    found = rtsp.library_status()
    assert found["ok"] is True
    assert found["version"] == rtsp.av.ffmpeg_version_info
    monkeypatch.setattr(rtsp, "CAMERA_DECODERS", ("h264", "no-such-codec"))
    found = rtsp.library_status()
    assert found["ok"] is False
    assert "no-such-codec" in found["error"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    return {name: make_certificate(directory, name=name) for name in ("other.example", "127.0.0.1")}


@pytest.fixture
def tls_camera(camera, certificates, request):
    """The test camera behind rtsps:// with a self-signed certificate for another name."""
    cert, key = certificates[getattr(request, "param", "other.example")]
    server = TlsCamera(camera.port, cert=cert, key=key)
    yield server
    server.close()


def test_an_rtsps_camera_whose_certificate_is_not_trusted_is_sent_nothing(tls_camera):
    with pytest.raises(CaptureError) as caught:
        grab(tls_camera.url("auth"), username=CAMERA_USER, password=CAMERA_PASSWORD)
    assert caught.value.code == "tls_untrusted"
    assert "not trusted" in str(caught.value)
    assert tls_camera.handshakes == 0  # no RTSP, and no password, went to it


def test_with_tls_verify_off_a_self_signed_camera_is_captured(tls_camera):
    data = grab(tls_camera.url("auth"), username=CAMERA_USER, password=CAMERA_PASSWORD, tls_verify=False)
    assert Image.open(io.BytesIO(data)).size == (640, 360)
    assert tls_camera.handshakes == 1


@pytest.mark.parametrize("tls_camera", ["127.0.0.1"], indirect=True)
def test_a_certificate_from_the_configured_ca_is_trusted(tls_camera, certificates, settings):
    settings.RTSPS_CA_FILE = str(certificates["127.0.0.1"][0])
    data = grab(tls_camera.url("auth"), username=CAMERA_USER, password=CAMERA_PASSWORD)
    assert Image.open(io.BytesIO(data)).size == (640, 360)


@pytest.mark.django_db
def test_the_api_sets_tls_verify_per_camera_and_captures_say_why_they_failed(api, tls_camera):
    body = {"name": "tls", "rtsp_url": tls_camera.url("auth"), "username": CAMERA_USER, "password": CAMERA_PASSWORD}
    device = api.post("/api/devices/", body, format="json").json()
    assert device["tls_verify"] is True
    response = api.post(f"/api/snapshots/capture/{device['id']}")
    assert (response.status_code, response.json()["code"]) == (502, "tls_untrusted")
    api.patch(f"/api/devices/{device['id']}", {"tls_verify": False}, format="json")
    response = api.post(f"/api/snapshots/capture/{device['id']}?force=true")
    assert response.status_code == 201


def test_a_held_session_reads_without_a_python_timeout_and_still_ends_when_the_camera_freezes(camera):
    """A keeper's session reads with FFmpeg's socket timeout, not PyAV's read timeout (whose
    callback takes the GIL at every socket poll: a core at 100 cameras); a grab keeps both."""
    with rtsp.open_stream(camera.url("fast"), username="", password="", timeout_s=3, quick=True) as (grab, _):
        assert grab.read_timeout == 3
    proxy = DamagingProxy(camera.port, damage=False)
    try:
        with rtsp.open_stream(proxy.url("fast"), username="", password="", timeout_s=1.5, quick=False) as (
            held,
            stream,
        ):
            assert held.read_timeout is None
            packets = held.demux(stream)
            for _ in range(10):
                next(packets)
            proxy.frozen.set()
            frozen_at = time.monotonic()
            with pytest.raises(Exception):  # noqa: B017, PT011 - whatever FFmpeg raises when the socket times out
                for _ in packets:
                    pass
            # FFmpeg gives up after about twice its socket timeout (3.2 s measured for 1.5 s).
            assert time.monotonic() - frozen_at < 2 * 1.5 + 1
    finally:
        proxy.close()
