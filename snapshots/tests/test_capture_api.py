import io

import pytest
from PIL import Image

from devices.models import Device
from snapshots.models import Snapshot
from snapshots.tests.servers import CAMERA_PASSWORD, CAMERA_USER

pytestmark = pytest.mark.django_db


def make_device(url: str, **fields) -> Device:
    return Device.objects.create(name=fields.pop("name", "cam"), rtsp_url=url, **fields)


@pytest.mark.parametrize("suffix", ["", "/"])
def test_capture_returns_201_with_metadata_and_location(api, camera, suffix):
    device = make_device(camera.url("fast"))
    response = api.post(f"/api/snapshots/capture/{device.pk}{suffix}")
    assert response.status_code == 201
    body = response.json()
    assert (body["width"], body["height"]) == (640, 360)
    assert body["device"] == {"id": str(device.pk), "name": "cam"}
    assert body["trigger"] == "api"
    # A grab of its own, stored moments after its frame arrived.
    assert body["source"] == "oneshot"
    assert 0 <= body["frame_age_ms"] < 2000
    assert response["Location"].endswith(f"/api/snapshots/{body['id']}")
    assert "image" not in body


def test_capture_stores_image_and_small_thumbnail(api, camera, admin_user):
    device = make_device(camera.url("h264"))
    snapshot_id = api.post(f"/api/snapshots/capture/{device.pk}").json()["id"]
    snapshot = Snapshot.objects.get(pk=snapshot_id)
    image = Image.open(io.BytesIO(bytes(snapshot.image)))
    thumbnail = Image.open(io.BytesIO(bytes(snapshot.thumbnail)))
    assert image.size == (1920, 1080)
    assert snapshot.file_size == len(bytes(snapshot.image))
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (320, 180)
    assert snapshot.triggered_by == admin_user


def test_capture_marks_device_online_and_seen(api, camera):
    device = make_device(camera.url("fast"))
    api.post(f"/api/snapshots/capture/{device.pk}")
    device.refresh_from_db()
    assert device.status == Device.Status.ONLINE
    assert device.last_seen_at is not None


def test_unknown_device_is_404(api):
    response = api.post("/api/snapshots/capture/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["code"] == "device_not_found"


def test_non_uuid_device_is_404(api):
    response = api.post("/api/snapshots/capture/not-a-uuid")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_disabled_device_is_409(api, camera):
    device = make_device(camera.url("fast"), enabled=False)
    response = api.post(f"/api/snapshots/capture/{device.pk}")
    assert response.status_code == 409
    assert response.json()["code"] == "device_disabled"


def test_offline_device_is_409_and_force_brings_it_back(api, camera):
    device = make_device(camera.url("fast"), status=Device.Status.OFFLINE)
    refused = api.post(f"/api/snapshots/capture/{device.pk}")
    assert refused.status_code == 409
    assert refused.json()["code"] == "device_offline"
    assert api.post(f"/api/snapshots/capture/{device.pk}?force=true").status_code == 201
    device.refresh_from_db()
    assert device.status == Device.Status.ONLINE


def test_wrong_password_is_502_auth_failed_and_never_shown(api, camera, caplog):
    device = make_device(camera.url("auth"), username=CAMERA_USER, password="Leak-Canary-93x")
    response = api.post(f"/api/snapshots/capture/{device.pk}")
    assert response.status_code == 502
    assert response.json()["code"] == "auth_failed"
    assert "authentication failed" in response.json()["detail"]
    assert "Leak-Canary-93x" not in response.content.decode()
    assert "Leak-Canary-93x" not in caplog.text


def test_right_password_captures(api, camera):
    device = make_device(camera.url("auth"), username=CAMERA_USER, password=CAMERA_PASSWORD)
    assert api.post(f"/api/snapshots/capture/{device.pk}").status_code == 201


def test_nothing_listening_is_502_and_marks_offline(api, refused_url):
    device = make_device(refused_url)
    response = api.post(f"/api/snapshots/capture/{device.pk}")
    assert response.status_code == 502
    assert response.json()["code"] == "unreachable"
    device.refresh_from_db()
    assert device.status == Device.Status.OFFLINE


def test_silent_camera_is_504(api, silent_server, settings):
    settings.CAPTURE_TIMEOUT_S = 1.5
    device = make_device(silent_server.url())
    response = api.post(f"/api/snapshots/capture/{device.pk}")
    assert response.status_code == 504
    assert response.json()["code"] == "timeout"


def test_viewer_cannot_capture(viewer_api, camera):
    device = make_device(camera.url("fast"))
    assert viewer_api.post(f"/api/snapshots/capture/{device.pk}").status_code == 403
    assert not Snapshot.objects.exists()


def test_capture_requires_authentication(anonymous_api, device):
    assert anonymous_api.post(f"/api/snapshots/capture/{device.pk}").status_code == 401


def test_a_camera_never_seen_working_whose_capture_fails_is_offline_with_its_error(api, camera):
    device = Device.objects.create(
        name="Locked", rtsp_url=camera.url("auth"), username=CAMERA_USER, password="Not-Its-Password-1"
    )
    assert device.status == "unknown"
    response = api.post(f"/api/snapshots/capture/{device.pk}")
    assert response.json()["code"] == "auth_failed"
    device.refresh_from_db()
    assert device.status == "offline"
    assert device.last_error.startswith("auth_failed:")
