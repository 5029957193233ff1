"""The ffmpeg wrapper against the real test camera and real broken cameras."""

import io
import time

import pytest
from PIL import Image

from snapshots import capture
from snapshots.capture import CaptureError
from snapshots.tests.servers import CAMERA_PASSWORD, CAMERA_USER

MAX_BYTES = 20 * 1024 * 1024


def grab(url: str, **kwargs) -> bytes:
    return capture.grab_jpeg(url, timeout_s=kwargs.pop("timeout_s", 8), max_bytes=MAX_BYTES, **kwargs)


@pytest.mark.parametrize(
    ("path", "size"),
    [("h264", (1920, 1080)), ("h265", (1280, 720)), ("audio", (1280, 720)), ("fast", (640, 360))],
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
    assert "Wrong-Pa55-xyz" not in str(caught.value) + caught.value.stderr + repr(caught.value)


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
    assert 1.5 < elapsed < 2 + 3


def test_credentials_are_percent_encoded_in_the_url():
    url = capture.url_with_credentials("rtsp://127.0.0.1:554/a", "us er", "p@ss:w/rd")
    assert url == "rtsp://us%20er:p%40ss%3Aw%2Frd@127.0.0.1:554/a"


def test_redact_removes_password_and_userinfo():
    text = "rtsp://bob:p%40ss@127.0.0.1/a failed; password p@ss"
    redacted = capture.redact(text, "bob", "p@ss")
    assert "p@ss" not in redacted and "p%40ss" not in redacted
    assert "rtsp://***@127.0.0.1/a" in redacted


def test_argv_pins_rtsp_and_never_uses_a_shell(settings):
    ffmpeg = capture.Ffmpeg(path="/usr/bin/ffmpeg", version="6.1", major=6)
    argv = capture.build_argv(ffmpeg, "rtsp://127.0.0.1/a", timeout_s=5)
    assert argv[argv.index("-f") + 1] == "rtsp"
    assert argv[argv.index("-i") + 1] == "rtsp://127.0.0.1/a"
    assert argv[argv.index("-timeout") + 1] == "5000000"
    assert argv[argv.index("-rtsp_transport") + 1] == "tcp"


def test_old_ffmpeg_gets_stimeout():
    ffmpeg = capture.Ffmpeg(path="/usr/bin/ffmpeg", version="4.4", major=4)
    assert "-stimeout" in capture.build_argv(ffmpeg, "rtsp://127.0.0.1/a", timeout_s=5)


def test_find_ffmpeg_prefers_the_setting(settings, tmp_path):
    settings.FFMPEG_BINARY = "/usr/bin/ffmpeg"
    assert capture.find_ffmpeg().path == "/usr/bin/ffmpeg"


def test_unusable_ffmpeg_setting_is_ffmpeg_unavailable(settings, tmp_path):
    settings.FFMPEG_BINARY = str(tmp_path / "no-ffmpeg")
    with pytest.raises(CaptureError) as caught:
        capture.find_ffmpeg()
    assert caught.value.code == "ffmpeg_unavailable"


def test_find_ffmpeg_falls_back_to_the_wheel_binary(settings, monkeypatch):
    import imageio_ffmpeg

    monkeypatch.setattr(capture.shutil, "which", lambda name: None)
    assert capture.find_ffmpeg().path == imageio_ffmpeg.get_ffmpeg_exe()


def test_wheel_ffmpeg_captures_too(camera, settings):
    import imageio_ffmpeg

    settings.FFMPEG_BINARY = imageio_ffmpeg.get_ffmpeg_exe()
    assert Image.open(io.BytesIO(grab(camera.url("fast")))).size == (640, 360)


def test_image_over_the_limit_is_refused(camera):
    with pytest.raises(CaptureError) as caught:
        capture.grab_jpeg(camera.url("fast"), timeout_s=8, max_bytes=1000)
    assert caught.value.code == "image_too_large"
