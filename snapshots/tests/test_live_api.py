"""The live routes and ?max_age=, on real keyframes published as the stream keeper publishes them."""

import dataclasses
import io
import threading
import time

import pytest
from PIL import Image

from capture import live
from devices.models import Device
from snapshots.models import Snapshot
from snapshots.tests.servers import free_port, read_keyframes


@pytest.fixture(scope="module")
def keyframe(camera) -> live.LiveFrame:
    (frame,) = read_keyframes(camera.url("h264"), 1)
    return frame


def publish(device: Device, frame: live.LiveFrame, **changes: object) -> live.LiveFrame:
    """What a keeper holding the camera writes: its session and its newest keyframe."""
    frame = dataclasses.replace(frame, captured_at=time.time(), **changes)
    session = live.LiveSession(keeper="test", keyframe_interval_s=2.0, since=time.time())
    live.live_sessions_refresh(sessions={device.pk: session})
    live.live_frame_publish(device_id=device.pk, frame=frame)
    return frame


def test_live_jpg_answers_the_current_frame_with_an_etag_per_frame(api, device, keyframe):
    publish(device, keyframe, seq=1)
    response = api.get(f"/api/devices/{device.pk}/live.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-cache" in response["Cache-Control"]
    assert 0 <= int(response["X-Frame-Age-Ms"]) < 5000
    assert Image.open(io.BytesIO(response.content)).size == (1920, 1080)
    etag = response["ETag"]

    again = api.get(f"/api/devices/{device.pk}/live.jpg", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304

    publish(device, keyframe, seq=2)
    newer = api.get(f"/api/devices/{device.pk}/live.jpg", HTTP_IF_NONE_MATCH=etag)
    assert newer.status_code == 200
    assert newer["ETag"] != etag


def test_live_jpg_downscales_with_width(api, device, keyframe):
    publish(device, keyframe, seq=1)
    response = api.get(f"/api/devices/{device.pk}/live.jpg?width=320")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (320, 180)
    assert api.get(f"/api/devices/{device.pk}/live.jpg?width=0").json()["code"] == "invalid_width"


def test_live_metadata_describes_the_frame(api, device, keyframe):
    frame = publish(device, keyframe, seq=1)
    body = api.get(f"/api/devices/{device.pk}/live").json()
    assert body["device_id"] == str(device.pk)
    assert (body["width"], body["height"]) == (1920, 1080)
    assert 0 <= body["frame_age_ms"] < 5000
    assert body["file_size"] == len(api.get(f"/api/devices/{device.pk}/live.jpg").content)
    assert body["image"].endswith(f"/api/devices/{device.pk}/live.jpg")
    assert abs(time.mktime(time.strptime(body["captured_at"][:19], "%Y-%m-%dT%H:%M:%S")) - frame.captured_at) < 2


def test_no_live_session_is_a_404_with_its_code(api, device):
    for route in ("live", "live.jpg"):
        response = api.get(f"/api/devices/{device.pk}/{route}")
        assert response.status_code == 404
        assert response.json()["code"] == "no_live_session"
    missing = api.get("/api/devices/00000000-0000-0000-0000-000000000000/live.jpg")
    assert (missing.status_code, missing.json()["code"]) == (404, "device_not_found")


def test_live_routes_need_authentication_and_a_viewer_may_read_them(anonymous_api, viewer_api, device, keyframe):
    publish(device, keyframe, seq=1)
    assert anonymous_api.get(f"/api/devices/{device.pk}/live.jpg").status_code == 401
    assert viewer_api.get(f"/api/devices/{device.pk}/live.jpg").status_code == 200


def test_a_damaged_current_frame_is_a_502_not_a_smeared_picture(api, device, keyframe, settings):
    settings.CAPTURE_TIMEOUT_S = 0.3
    publish(device, keyframe, seq=1, packet=keyframe.packet[: len(keyframe.packet) // 3])
    response = api.get(f"/api/devices/{device.pk}/live.jpg")
    assert response.json()["code"] == "invalid_image"
    assert response.status_code == 502


def test_capture_stores_the_live_frame_and_says_so(api, device, keyframe):
    publish(device, keyframe, seq=1)
    response = api.post(f"/api/snapshots/capture/{device.pk}")
    assert response.status_code == 201
    body = response.json()
    assert body["source"] == "live"
    assert 0 <= body["frame_age_ms"] < 2000
    assert (body["width"], body["height"]) == (1920, 1080)


def test_capture_with_max_age_waits_for_a_newer_keyframe(api, device, keyframe):
    publish(device, keyframe, seq=1)
    time.sleep(0.3)
    threading.Timer(0.5, lambda: publish(device, keyframe, seq=2)).start()
    started = time.monotonic()
    body = api.post(f"/api/snapshots/capture/{device.pk}?max_age=0.1").json()
    assert time.monotonic() - started >= 0.4  # it waited for frame 2 ...
    assert body["source"] == "live"
    assert body["frame_age_ms"] < 300  # ... and stored it, not the 0.3 s old frame 1


def test_capture_waiting_on_a_keeper_that_never_sends_a_frame_times_out(api, device, keyframe, settings):
    settings.CAPTURE_TIMEOUT_S = 0.5
    publish(device, keyframe, seq=1)
    response = api.post(f"/api/snapshots/capture/{device.pk}?max_age=0")
    assert response.status_code == 504
    assert response.json()["code"] == "timeout"


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", "3601", ""])
def test_a_bad_max_age_is_a_400(api, device, value):
    response = api.post(f"/api/snapshots/capture/{device.pk}?max_age={value}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_max_age"


def test_a_live_off_camera_is_grabbed_one_shot_even_with_a_frame_published(api, camera, keyframe, db):
    device = Device.objects.create(name="off", rtsp_url=camera.url("fast"), live=False)
    publish(device, keyframe, seq=1)
    body = api.post(f"/api/snapshots/capture/{device.pk}").json()
    assert body["source"] == "oneshot"
    assert (body["width"], body["height"]) == (640, 360)


def test_live_mode_is_set_through_the_api(api, device):
    assert api.get(f"/api/devices/{device.pk}").json()["live"] is True
    response = api.patch(f"/api/devices/{device.pk}", {"live": False}, format="json")
    assert response.status_code == 200
    assert response.json()["live"] is False
    device.refresh_from_db()
    assert device.live is False


def test_a_live_store_that_is_down_means_one_shot_captures_not_errors(api, camera, db, settings, caplog):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        **settings.CACHES,
        "live": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": unreachable},
    }
    device = Device.objects.create(name="store down", rtsp_url=camera.url("fast"))
    response = api.post(f"/api/snapshots/capture/{device.pk}")
    assert response.status_code == 201
    assert response.json()["source"] == "oneshot"
    live_jpg = api.get(f"/api/devices/{device.pk}/live.jpg")
    assert (live_jpg.status_code, live_jpg.json()["code"]) == (404, "no_live_session")
    assert "the live store cannot be read (ConnectionError)" in caplog.text


def test_a_camera_deleted_while_its_capture_runs_is_a_404_not_a_500(api, keyframe, transactional_db):
    device = Device.objects.create(name="deleted meanwhile", rtsp_url="rtsp://127.0.0.1:9/a")
    publish(device, keyframe, seq=1)
    answers = []
    waiting = threading.Thread(
        target=lambda: answers.append(api.post(f"/api/snapshots/capture/{device.pk}?max_age=0")), daemon=True
    )
    waiting.start()
    time.sleep(0.5)  # the capture waits for the next keyframe ...
    Device.objects.filter(pk=device.pk).delete()
    publish(device, keyframe, seq=2)  # ... which comes after the camera is gone
    waiting.join(timeout=10)
    (response,) = answers
    assert response.status_code == 404
    assert response.json()["code"] == "device_not_found"
    assert not Snapshot.objects.exists()


def test_a_keeper_gone_while_a_capture_waits_leaves_the_one_shot_the_rest_of_the_timeout(
    api, silent_server, keyframe, db, settings
):
    settings.CAPTURE_TIMEOUT_S = 3
    device = Device.objects.create(name="hangs", rtsp_url=silent_server.url())
    publish(device, keyframe, seq=1)
    threading.Timer(1.5, lambda: live.live_sessions_forget(device_ids=[device.pk])).start()
    started = time.monotonic()
    response = api.post(f"/api/snapshots/capture/{device.pk}?max_age=0")
    elapsed_s = time.monotonic() - started
    assert response.json()["code"] == "timeout"
    # 1.5 s waiting on the keeper, then the one-shot's remaining 1.5 s (and its kill margin),
    # not a fresh 3 s.
    assert elapsed_s < 3 + 1.5
    # Cut short, its timeout says nothing of the camera: not marked offline.
    device.refresh_from_db()
    assert device.last_error.startswith("timeout:")
    assert device.status != Device.Status.OFFLINE
    # A one-shot that had the whole timeout and timed out does say the camera is offline.
    assert api.post(f"/api/snapshots/capture/{device.pk}").json()["code"] == "timeout"
    device.refresh_from_db()
    assert device.status == Device.Status.OFFLINE
