import time

import pytest
from django.db import connection

from capture import rtsp
from capture.errors import CaptureError
from devices.models import Device
from snapshots.models import Snapshot
from snapshots.services import snapshot_capture, snapshot_capture_many


def test_camera_io_runs_outside_any_transaction(db, device, monkeypatch):
    seen = {}

    def fake_grab(url, **kwargs):
        seen["atomic_depth"] = len(connection.atomic_blocks)
        raise CaptureError("no camera", code="unreachable")

    monkeypatch.setattr(rtsp, "grab_jpeg", fake_grab)
    # pytest-django wraps each test in atomic blocks; the grab must add none.
    depth_outside = len(connection.atomic_blocks)
    with pytest.raises(CaptureError):
        snapshot_capture(device=device, trigger="api")
    assert seen["atomic_depth"] == depth_outside


def test_invalid_bytes_from_the_camera_are_refused(db, device, monkeypatch):
    monkeypatch.setattr(rtsp, "grab_jpeg", lambda url, **kwargs: b"not a jpeg at all")
    with pytest.raises(CaptureError) as caught:
        snapshot_capture(device=device, trigger="api")
    assert caught.value.code == "invalid_image"
    assert not Snapshot.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_batch_with_dead_cameras_takes_about_one_timeout(camera, refused_url, silent_server, settings):
    settings.CAPTURE_TIMEOUT_S = 4
    live = [Device.objects.create(name=f"live{i}", rtsp_url=camera.url(f"cam{i}")) for i in range(6)]
    dead = [Device.objects.create(name="refused", rtsp_url=refused_url)]
    dead += [Device.objects.create(name=f"silent{i}", rtsp_url=silent_server.url(f"s{i}")) for i in range(3)]
    started = time.monotonic()
    results = snapshot_capture_many(devices=live + dead, trigger="command", concurrency=10)
    elapsed = time.monotonic() - started
    assert [r.device.name for r in results] == [d.name for d in live + dead]
    assert all(r.snapshot is not None for r in results[:6])
    assert [r.error.code for r in results[6:]] == ["unreachable", "timeout", "timeout", "timeout"]
    assert Snapshot.objects.count() == 6
    # Three silent cameras cost about one timeout (4 s), not three (12 s).
    assert elapsed < 2 * settings.CAPTURE_TIMEOUT_S


def test_jpeg_cut_off_mid_scan_is_refused_not_stored(db, device, monkeypatch):
    from snapshots.tests.factories import jpeg_bytes

    data = jpeg_bytes(1920, 1080)
    monkeypatch.setattr(rtsp, "grab_jpeg", lambda url, **kwargs: data[: len(data) * 2 // 3])
    with pytest.raises(CaptureError) as caught:
        snapshot_capture(device=device, trigger="api")
    assert caught.value.code == "invalid_image"
    assert not Snapshot.objects.exists()
