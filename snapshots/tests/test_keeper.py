"""The stream keeper against the real test camera: live captures on every codec layout,
one session per camera between keepers, status from the stream, and a keeper killed."""

import dataclasses
import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from capture import live, rtsp
from capture.errors import CaptureError
from devices.models import Device
from snapshots import services
from snapshots.keeper import Keeper
from snapshots.models import Snapshot
from snapshots.tests.servers import (
    CAMERA_USER,
    DamagingProxy,
    all_command_lines,
    children_of,
    database_url,
    read_keyframes,
    wait_for,
)

REPO_DIR = Path(__file__).resolve().parents[2]
CAMERA_PASSWORD = "cam-secret-Pa55"


def held(device: Device) -> bool:
    return live.live_session(device_id=device.pk) is not None and live.live_frame(device_id=device.pk) is not None


@pytest.fixture
def run_keeper(transactional_db, settings) -> Iterator[Callable[..., Keeper]]:
    """Start keepers in this process (each in a thread); all are stopped at the end."""
    settings.LIVE_SESSION_TTL_S = 2
    settings.LIVE_LEASE_S = 2
    settings.LIVE_RECONNECT_MAX_S = 1
    running: list[tuple[Keeper, threading.Thread]] = []

    def start(**kwargs: object) -> Keeper:
        keeper = Keeper(**kwargs)  # type: ignore[arg-type]
        thread = threading.Thread(target=keeper.run, daemon=True)
        thread.start()
        running.append((keeper, thread))
        return keeper

    yield start
    for keeper, thread in running:
        keeper.stop()
        thread.join(timeout=15)


def test_captures_answer_from_the_keeper_on_every_codec_layout(camera, run_keeper):
    layouts = {"h264": (1920, 1080), "bframes": (1920, 1080), "h265-bframes": (1280, 720), "long-gop": (1280, 720)}
    devices = {path: Device.objects.create(name=path, rtsp_url=camera.url(path)) for path in layouts}
    run_keeper()
    for device in devices.values():
        wait_for(lambda device=device: held(device), timeout_s=20, what=f"a live frame of {device.name}")
    for path, device in devices.items():
        # Held again right before: a camera that skipped keyframes for a while is rightly let go.
        wait_for(lambda device=device: held(device), timeout_s=20, what=f"a live frame of {device.name}")
        asked_at = time.time()
        # Any age accepted: the frame the keeper already holds answers, with no wait for a new one.
        snapshot = services.snapshot_capture(device=device, trigger=Snapshot.Trigger.API, max_age_s=60)
        assert snapshot.source == Snapshot.Source.LIVE
        assert (snapshot.width, snapshot.height) == layouts[path]
        assert snapshot.captured_at.timestamp() - snapshot.frame_age_ms / 1000 <= asked_at + 0.01  # arrived before
        Image.open(io.BytesIO(bytes(snapshot.image))).load()

        asked_at = time.time()
        newer = services.snapshot_capture(device=device, trigger=Snapshot.Trigger.API, max_age_s=0)
        assert newer.source == Snapshot.Source.LIVE
        assert newer.captured_at.timestamp() - newer.frame_age_ms / 1000 >= asked_at - 0.01  # arrived after asking


def test_the_keeper_keeps_status_without_any_capture(camera, run_keeper, refused_url):
    good = Device.objects.create(name="good", rtsp_url=camera.url("fast"))
    refused = Device.objects.create(name="refused", rtsp_url=refused_url)
    locked = Device.objects.create(name="locked", rtsp_url=camera.url("auth"), username="camuser", password="wrong")
    run_keeper()
    wait_for(lambda: Device.objects.get(pk=good.pk).status == "online", timeout_s=15, what="online")
    assert Device.objects.get(pk=good.pk).last_seen_at is not None
    wait_for(lambda: Device.objects.get(pk=refused.pk).status == "offline", timeout_s=15, what="offline")
    assert Device.objects.get(pk=refused.pk).last_error.startswith("unreachable:")
    wait_for(lambda: Device.objects.get(pk=locked.pk).last_error != "", timeout_s=15, what="an error")
    assert Device.objects.get(pk=locked.pk).last_error.startswith("auth_failed:")
    assert "wrong" not in Device.objects.get(pk=locked.pk).last_error
    assert not Snapshot.objects.exists()
    # No session, so a capture of a camera the keeper cannot hold is a one-shot grab's answer.
    assert live.live_session(device_id=refused.pk) is None


def test_a_camera_that_stops_sending_keyframes_goes_offline(camera, run_keeper, settings):
    settings.LIVE_OFFLINE_AFTER_KEYFRAMES = 3
    settings.LIVE_SILENCE_MIN_S = 0.5  # the floor under three short intervals, kept short here
    proxy = DamagingProxy(camera.port, damage=False)
    try:
        device = Device.objects.create(name="stalls", rtsp_url=proxy.url("fast"))
        run_keeper()
        wait_for(lambda: Device.objects.get(pk=device.pk).status == "online", timeout_s=15, what="online")
        proxy.frozen.set()
        frozen_at = time.monotonic()
        # Keyframes every 0.2 s: three missed ones, and the keeper's next tick (1 s), well
        # before the socket would time out (10 s).
        wait_for(lambda: Device.objects.get(pk=device.pk).status == "offline", timeout_s=5, what="offline")
        assert time.monotonic() - frozen_at < 3
        assert live.live_session(device_id=device.pk) is None  # captures no longer wait on it
    finally:
        proxy.close()
    assert Device.objects.get(pk=device.pk).last_error.startswith("timeout: The camera sent no keyframe")


@pytest.mark.parametrize("path", ["h264", "bframes", "h265-bframes"])
def test_a_keyframe_cut_off_is_passed_over_for_the_next_whole_one(db, camera, path):
    (whole,) = read_keyframes(camera.url(path), 1)
    # The keyframe as a connection cut mid-frame leaves it: its first third.
    damaged = dataclasses.replace(whole, seq=1, packet=whole.packet[: len(whole.packet) // 3])
    whole = dataclasses.replace(whole, seq=2, captured_at=whole.captured_at + 1)
    assert rtsp.decode_keyframe(codec=damaged.codec, extradata=damaged.extradata, packet=damaged.packet) is None
    device = Device.objects.create(name="damaged", rtsp_url=camera.url(path))
    session = live.LiveSession(keeper="k", keyframe_interval_s=2, since=0)
    live.live_sessions_refresh(sessions={device.pk: session})

    # The damaged frame alone in the store: a capture fails rather than store a smeared picture.
    live.live_frame_publish(device_id=device.pk, frame=damaged)
    with pytest.raises(CaptureError) as caught:
        live.live_image(device_id=device.pk, max_age_s=3600, timeout_s=0.3)
    assert caught.value.code == "invalid_image"

    # A whole keyframe arrives while the capture waits: that one is stored.
    publish_later = threading.Timer(0.3, lambda: live.live_frame_publish(device_id=device.pk, frame=whole))
    live.live_frame_publish(device_id=device.pk, frame=damaged)
    publish_later.start()
    image = live.live_image(device_id=device.pk, max_age_s=3600, timeout_s=5)
    assert image is not None
    assert image.frame.seq == whole.seq
    picture = Image.open(io.BytesIO(image.jpeg))
    picture.load()
    assert picture.size == (whole.width, whole.height)


def test_two_keepers_never_hold_one_camera_twice_and_take_over_when_one_stops(camera, run_keeper):
    device = Device.objects.create(name="shared", rtsp_url=camera.url("fast"))
    first = run_keeper()
    wait_for(lambda: held(device), timeout_s=15, what="the first keeper")
    second = run_keeper()
    time.sleep(2.5)  # more than a lease: the second keeper tried every second
    assert list(first.sessions) == [device.pk]
    assert second.sessions == {}
    first.stop()
    wait_for(lambda: device.pk in second.sessions, timeout_s=5, what="the second keeper to take over")
    wait_for(
        lambda: getattr(live.live_session(device_id=device.pk), "keeper", None) == second.name,
        timeout_s=10,
        what="live again",
    )


@pytest.mark.django_db
def test_shards_split_the_cameras_between_keepers():
    # Ids chosen so that the split is known (random ones left a shard empty about one run in 40).
    ids = [uuid.UUID(int=(1 << 100) + index) for index in range(12)]
    for index, pk in enumerate(ids):
        Device.objects.create(id=pk, name=f"cam{index}", rtsp_url=f"rtsp://127.0.0.1/{index}")
    shards = [set(Keeper(shard=(index, 3)).wanted()) for index in (1, 2, 3)]
    assert shards == [{pk for pk in ids if pk.int % 3 == remainder} for remainder in (0, 1, 2)]
    assert all(len(shard) == 4 for shard in shards)


@pytest.mark.parametrize("shard", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_refused(shard):
    with pytest.raises(CommandError, match="--shard"):
        call_command("run_stream_keeper", shard=shard)


@pytest.mark.django_db
def test_live_off_and_disabled_cameras_are_not_held():
    on = Device.objects.create(name="on", rtsp_url="rtsp://127.0.0.1/a")
    Device.objects.create(name="off", rtsp_url="rtsp://127.0.0.1/b", live=False)
    Device.objects.create(name="disabled", rtsp_url="rtsp://127.0.0.1/c", enabled=False)
    assert set(Keeper().wanted()) == {on.pk}


def test_live_mode_default_comes_from_the_setting(db, settings):
    settings.LIVE_DEFAULT = False
    assert Device.objects.create(name="a", rtsp_url="rtsp://127.0.0.1/a").live is False
    settings.LIVE_DEFAULT = True
    assert Device.objects.create(name="b", rtsp_url="rtsp://127.0.0.1/b").live is True


@pytest.mark.fault
def test_a_keeper_killed_with_sigkill_leaves_nothing_and_captures_go_on(camera, transactional_db, settings):
    settings.LIVE_SESSION_TTL_S = 2
    device = Device.objects.create(
        name="auth", rtsp_url=camera.url("auth"), username="camuser", password=CAMERA_PASSWORD
    )
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "VAS_LIVE_DIR": str(settings.LIVE_DIR),
        "VAS_LIVE_SESSION_TTL_S": "2",
    }
    keeper = subprocess.Popen(
        [sys.executable, "manage.py", "run_stream_keeper"],
        cwd=REPO_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: held(device), timeout_s=30, what="the keeper's first frame")
        assert services.snapshot_capture(device=device, trigger=Snapshot.Trigger.API).source == Snapshot.Source.LIVE
        # In-process RTSP: no ffmpeg started, and the password is in no process's argv.
        assert children_of(keeper.pid) == []
        assert not [line for line in all_command_lines() if CAMERA_PASSWORD in line]
    finally:
        keeper.send_signal(signal.SIGKILL)
        keeper.wait()
    killed_at = time.monotonic()
    sources = []
    while not sources or sources[-1] != Snapshot.Source.ONESHOT:
        sources.append(services.snapshot_capture(device=device, trigger=Snapshot.Trigger.API).source)
        assert time.monotonic() - killed_at < 8
    # The session lapsed within its 2 s; after that every capture is a one-shot grab.
    assert set(sources) <= {Snapshot.Source.LIVE, Snapshot.Source.ONESHOT}


@pytest.fixture(params=["files", "redis"])
def live_store(request, settings, tmp_path):
    """The live store on each backend: files on one machine, or Redis shared by many."""
    if request.param == "redis":
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/14"}
    else:
        backend = {"BACKEND": "vas_project.caches.BoundedFileBasedCache", "LOCATION": str(tmp_path)}
    settings.CACHES = {**settings.CACHES, "live": backend}
    yield request.param
    from django.core.cache import caches

    caches["live"].clear()


def test_a_lease_is_held_by_one_keeper_until_released_or_lapsed(live_store, settings):
    settings.LIVE_LEASE_S = 1
    device_id = uuid.uuid4()
    assert live.live_lease_take(device_id=device_id, keeper="a")
    assert not live.live_lease_take(device_id=device_id, keeper="b")
    assert live.live_lease_take(device_id=device_id, keeper="a")  # renewed
    live.live_lease_release(device_id=device_id, keeper="b")  # not b's to release
    assert not live.live_lease_take(device_id=device_id, keeper="b")
    time.sleep(1.2)  # a stopped renewing: dead
    assert live.live_lease_take(device_id=device_id, keeper="b")
    live.live_lease_release(device_id=device_id, keeper="b")
    assert live.live_lease_take(device_id=device_id, keeper="c")


def test_a_session_lapses_when_its_keeper_stops_refreshing_it(live_store, settings):
    settings.LIVE_SESSION_TTL_S = 1
    device_id = uuid.uuid4()
    live.live_sessions_refresh(sessions={device_id: live.LiveSession(keeper="a", keyframe_interval_s=2, since=0)})
    assert live.live_session(device_id=device_id) == live.LiveSession(keeper="a", keyframe_interval_s=2, since=0)
    time.sleep(1.2)
    assert live.live_session(device_id=device_id) is None
    assert live.live_image(device_id=device_id, max_age_s=None, timeout_s=1) is None  # one-shot then


def test_the_keeper_opens_nothing_but_rtsp_whatever_a_row_says(run_keeper):
    # Written straight into the database, past the model's validator.
    device = Device.objects.create(name="forged", rtsp_url="rtsp://127.0.0.1:9/a")
    Device.objects.filter(pk=device.pk).update(rtsp_url="file:///etc/passwd")
    run_keeper()
    wait_for(lambda: Device.objects.get(pk=device.pk).last_error != "", timeout_s=10, what="an error")
    assert Device.objects.get(pk=device.pk).last_error.startswith("invalid_url:")
    assert live.live_frame(device_id=device.pk) is None


def test_the_command_stops_cleanly_on_sigterm(transactional_db):
    # The signal arrives while the keeper loop runs in this (main) thread, as under a supervisor.
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    out = io.StringIO()
    started = time.monotonic()
    try:
        call_command("run_stream_keeper", shard="2/2", stdout=out)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert time.monotonic() - started < 5
    assert "holding shard 2/2" in out.getvalue()


@pytest.mark.parametrize(
    ("path", "password", "code"),
    [("auth", "wrong", "auth_failed"), ("no-such-path", "", "stream_not_found")],
    ids=["wrong password", "unknown path"],
)
def test_a_camera_whose_live_session_fails_is_offline_with_its_error(camera, run_keeper, path, password, code):
    # Neither failure says the camera is unreachable, but a camera whose session fails delivers
    # nothing: offline at the first failure, not "unknown" while the keeper retries.
    failing = Device.objects.create(name=path, rtsp_url=camera.url(path), username=CAMERA_USER, password=password)
    run_keeper()
    wait_for(lambda: Device.objects.get(pk=failing.pk).status == "offline", timeout_s=10, what="offline")
    failing.refresh_from_db()
    assert failing.last_error.startswith(f"{code}:")
    assert failing.problem and not failing.problem.startswith(code)
