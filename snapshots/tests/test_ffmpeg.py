"""The ffmpeg module against the real test camera and real broken cameras."""

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from snapshots import ffmpeg
from snapshots.errors import CAPTURE_FAILURES, CaptureError
from snapshots.tests.servers import CAMERA_PASSWORD, CAMERA_USER, DamagingProxy

MAX_BYTES = 20 * 1024 * 1024


def grab(url: str, **kwargs) -> bytes:
    return ffmpeg.grab_jpeg(url, timeout_s=kwargs.pop("timeout_s", 8), max_bytes=MAX_BYTES, **kwargs)


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
    # ffmpeg's own socket timeout, well before the wall-clock kill (timeout + KILL_MARGIN_S).
    assert 1.5 < elapsed < 2 + ffmpeg.KILL_MARGIN_S - 0.5


def test_credentials_are_percent_encoded_in_the_url():
    url = ffmpeg.url_with_credentials("rtsp://127.0.0.1:554/a", "us er", "p@ss:w/rd")
    assert url == "rtsp://us%20er:p%40ss%3Aw%2Frd@127.0.0.1:554/a"


def test_redact_removes_password_and_userinfo():
    text = "rtsp://bob:p%40ss@127.0.0.1/a failed; password p@ss, sent as p%40ss"
    redacted = ffmpeg.redact(text, "bob", "p@ss")
    assert "p@ss" not in redacted and "p%40ss" not in redacted
    assert "rtsp://***@127.0.0.1/a" in redacted


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
    assert proxy.clients == 2  # the damaged keyframe was not stored; the next connection's was
    image = Image.open(io.BytesIO(data))
    image.load()  # the whole scan decodes
    assert image.size == (1920, 1080)


def test_argv_pins_rtsp_and_never_uses_a_shell(settings):
    binary = ffmpeg.Ffmpeg(path="/usr/bin/ffmpeg", version="6.1", major=6)
    argv = ffmpeg.build_reader_argv(binary, "rtsp://127.0.0.1/a", timeout_s=5)
    assert argv[argv.index("-f") + 1] == "rtsp"
    assert argv[argv.index("-i") + 1] == "rtsp://127.0.0.1/a"
    assert argv[argv.index("-timeout") + 1] == "5000000"
    assert argv[argv.index("-rtsp_transport") + 1] == "tcp"


def test_old_ffmpeg_gets_stimeout():
    binary = ffmpeg.Ffmpeg(path="/usr/bin/ffmpeg", version="4.4", major=4)
    assert "-stimeout" in ffmpeg.build_reader_argv(binary, "rtsp://127.0.0.1/a", timeout_s=5)


@pytest.fixture
def ffmpeg_elsewhere(tmp_path):
    """The system's ffmpeg under another path, so a test can tell which one was found."""
    elsewhere = tmp_path / "bin" / "ffmpeg"
    elsewhere.parent.mkdir()
    elsewhere.symlink_to(shutil.which("ffmpeg"))
    return elsewhere


def test_find_ffmpeg_prefers_the_setting(settings, ffmpeg_elsewhere):
    settings.FFMPEG_BINARY = str(ffmpeg_elsewhere)
    assert ffmpeg.find_ffmpeg().path == str(ffmpeg_elsewhere)
    assert shutil.which("ffmpeg") != str(ffmpeg_elsewhere)


def test_without_the_setting_ffmpeg_is_found_on_path(settings, monkeypatch, ffmpeg_elsewhere):
    settings.FFMPEG_BINARY = ""
    monkeypatch.setenv("PATH", str(ffmpeg_elsewhere.parent))
    assert ffmpeg.find_ffmpeg().path == str(ffmpeg_elsewhere)


def test_no_ffmpeg_on_path_is_ffmpeg_unavailable(settings, monkeypatch, tmp_path):
    settings.FFMPEG_BINARY = ""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CaptureError) as caught:
        ffmpeg.find_ffmpeg()
    assert caught.value.code == "ffmpeg_unavailable"
    assert "PATH" in str(caught.value)


def test_unusable_ffmpeg_setting_is_ffmpeg_unavailable(settings, tmp_path):
    settings.FFMPEG_BINARY = str(tmp_path / "no-ffmpeg")
    with pytest.raises(CaptureError) as caught:
        ffmpeg.find_ffmpeg()
    assert caught.value.code == "ffmpeg_unavailable"
    assert "VAS_FFMPEG_BINARY" in str(caught.value)


def test_configured_ffmpeg_captures(camera, settings, ffmpeg_elsewhere):
    settings.FFMPEG_BINARY = str(ffmpeg_elsewhere)
    assert Image.open(io.BytesIO(grab(camera.url("fast")))).size == (640, 360)


@pytest.mark.parametrize("url", ["file:/etc/hostname", "/etc/hostname", "http://127.0.0.1:1/a.m3u8", "rtsp:///a"])
def test_only_rtsp_urls_start_ffmpeg(url, monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError("ffmpeg was started")

    monkeypatch.setattr(ffmpeg.subprocess, "Popen", no_process)
    with pytest.raises(CaptureError) as caught:
        grab(url)
    assert caught.value.code == "invalid_url"


def test_image_over_the_limit_is_refused(camera):
    with pytest.raises(CaptureError) as caught:
        ffmpeg.grab_jpeg(camera.url("fast"), timeout_s=8, max_bytes=1000)
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
def test_ffmpeg_stderr_lines_name_their_failure(stderr, code):
    assert ffmpeg.classify_failure(stderr + "\n", waited_full_timeout=False).code == code


def test_every_stderr_phrase_of_the_table_names_its_own_failure():
    # No phrase is shadowed by an earlier row of the table.
    for failure in CAPTURE_FAILURES.values():
        for phrase in failure.stderr_phrases:
            assert ffmpeg.classify_failure(phrase, waited_full_timeout=False).code == failure.code


def test_an_unknown_failure_after_the_whole_timeout_is_a_timeout():
    assert ffmpeg.classify_failure("Invalid data found", waited_full_timeout=True).code == "timeout"
    assert ffmpeg.classify_failure("Invalid data found", waited_full_timeout=False).code == "capture_failed"


GRAB_FOREVER = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")
import django
django.setup()
from snapshots import ffmpeg
ffmpeg.grab_jpeg(sys.argv[1], timeout_s=60, max_bytes=10**6)
"""


def running_ffmpeg_children(parent_pid: int) -> set[int]:
    """The parent's ffmpeg children that still run (a zombie, dead but not yet reaped, does not)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if name == "ffmpeg" and fields[0] != "Z" and int(fields[1]) == parent_pid:
            found.add(int(entry.name))
    return found


def still_running(pids: set[int]) -> set[int]:
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.add(pid)
    return running


def test_killing_the_process_that_grabs_leaves_no_ffmpeg_behind(silent_server):
    grabber = subprocess.Popen(
        [sys.executable, "-c", GRAB_FOREVER, silent_server.url()], cwd=Path(__file__).resolve().parents[2]
    )
    try:
        deadline = time.monotonic() + 20
        # The reader and the decoder of a grab that waits on a silent camera.
        while len(children := running_ffmpeg_children(grabber.pid)) < 2:
            assert time.monotonic() < deadline, "the grab did not start its two ffmpeg processes"
            time.sleep(0.1)
    finally:
        os.kill(grabber.pid, signal.SIGKILL)
        grabber.wait()
    deadline = time.monotonic() + 5
    while still_running(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert still_running(children) == set()


def test_a_password_that_looks_like_a_phrase_does_not_hide_the_failure():
    # Classified before redaction: the password "401" must not turn "401 Unauthorized" into "*** Unauthorized".
    stderr = b"[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized\n"
    error = ffmpeg._failure(stderr, b"", secrets=("cam", "401"), started=time.monotonic(), timeout_s=5)
    assert error.code == "auth_failed"
    assert "401" not in error.stderr.replace("***", "")


def test_an_upper_case_scheme_captures_like_a_lower_case_one(camera):
    # The model accepts RTSP:// (schemes are case-insensitive); ffmpeg's protocol names are not.
    data = grab(camera.url("fast").replace("rtsp://", "RTSP://"))
    assert Image.open(io.BytesIO(data)).size == (640, 360)


def test_ffmpeg_installed_or_removed_while_running_is_seen_without_a_restart(settings, tmp_path):
    later = tmp_path / "later" / "ffmpeg"
    settings.FFMPEG_BINARY = str(later)
    assert ffmpeg.ffmpeg_status()["ok"] is False
    later.parent.mkdir()
    later.symlink_to(shutil.which("ffmpeg"))
    assert ffmpeg.ffmpeg_status()["ok"] is True
    later.unlink()
    assert ffmpeg.ffmpeg_status()["ok"] is False
