import threading

import pytest
from django.db import connection

from capture.errors import CaptureError
from devices.models import Device
from snapshots.models import Snapshot
from snapshots.services import snapshot_capture

pytestmark = pytest.mark.django_db(transaction=True)


def capture_concurrently(device: Device, callers: int) -> list:
    results: list = []
    start = threading.Barrier(callers)

    def call():
        try:
            start.wait()
            results.append(snapshot_capture(device=Device.objects.get(pk=device.pk), trigger="api", force=True))
        except CaptureError as error:
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_captures_of_one_camera_share_one_grab(camera):
    # /h264 waits up to 2 s for a keyframe, so the three requests overlap.
    device = Device.objects.create(name="shared", rtsp_url=camera.url("h264"))
    results = capture_concurrently(device, 3)
    assert Snapshot.objects.count() == 1
    assert {snapshot.pk for snapshot in results} == {Snapshot.objects.get().pk}


def test_concurrent_callers_share_the_error(silent_server, settings):
    settings.CAPTURE_TIMEOUT_S = 1.5
    device = Device.objects.create(name="silent", rtsp_url=silent_server.url())
    results = capture_concurrently(device, 3)
    assert [error.code for error in results] == ["timeout"] * 3
    assert len(silent_server.connections) == 1
