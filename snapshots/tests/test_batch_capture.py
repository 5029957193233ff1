import time

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from devices.models import Device
from snapshots.models import Snapshot

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("suffix", ["", "/"])
def test_batch_returns_one_result_per_device_with_one_dead_camera(api, camera, refused_url, suffix):
    live = [Device.objects.create(name=f"live{i}", rtsp_url=camera.url(f"cam{i}")) for i in range(3)]
    dead = Device.objects.create(name="dead", rtsp_url=refused_url)
    ids = [str(d.pk) for d in [*live, dead]] + [MISSING]
    response = api.post(f"/api/snapshots/capture{suffix}", {"device_ids": ids}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["captured"], body["failed"]) == (3, 2)
    by_id = {row["device_id"]: row for row in body["results"]}
    assert all(by_id[str(d.pk)]["snapshot"]["width"] == 640 for d in live)
    assert all(by_id[str(d.pk)]["elapsed_ms"] > 0 for d in live)
    assert by_id[str(dead.pk)].pop("elapsed_ms") >= 0
    assert by_id[str(dead.pk)] == {
        "device_id": str(dead.pk),
        "ok": False,
        "code": "unreachable",
        "detail": "The camera cannot be reached (Connection refused).",
    }
    assert by_id[MISSING] == {
        "device_id": MISSING,
        "ok": False,
        "code": "device_not_found",
        "detail": "No camera with that id or name.",
    }
    assert Snapshot.objects.count() == 3


def test_batch_all_captures_every_enabled_device(api, camera):
    Device.objects.create(name="on", rtsp_url=camera.url("cam4"))
    Device.objects.create(name="off", rtsp_url=camera.url("cam5"), enabled=False)
    body = api.post("/api/snapshots/capture/", {"all": True}, format="json").json()
    assert body["captured"] == 1
    assert list(Snapshot.objects.values_list("device__name", flat=True)) == ["on"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"all": True, "device_ids": [MISSING]}, {"device_ids": ["nope"]}, {"device_ids": []}, {"all": "maybe"}],
)
def test_bad_batch_request_is_400(api, payload):
    response = api.post("/api/snapshots/capture/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_viewer_cannot_batch_capture(viewer_api):
    assert viewer_api.post("/api/snapshots/capture/", {"all": True}, format="json").status_code == 403


def test_a_batch_ends_within_its_deadline_and_says_which_cameras_it_did_not_start(api, silent_server, settings):
    # One capture at a time, each waiting its whole timeout on a hanging camera: only the first
    # starts early enough to finish within the batch's 3.5 s.
    settings.CAPTURE_CONCURRENCY = 1
    settings.CAPTURE_TIMEOUT_S = 1
    settings.BATCH_DEADLINE_S = 3.5
    devices = [Device.objects.create(name=f"hangs{i}", rtsp_url=silent_server.url(f"s{i}")) for i in range(3)]
    started = time.monotonic()
    response = api.post("/api/snapshots/capture/", {"device_ids": [str(d.pk) for d in devices]}, format="json")
    assert time.monotonic() - started < 3.5
    body = response.json()
    assert response.status_code == 200
    assert [row["code"] for row in body["results"]] == ["timeout", "batch_deadline", "batch_deadline"]
    assert "VAS_BATCH_DEADLINE_S" in body["results"][1]["detail"]


def test_a_batch_over_the_synchronous_maximum_becomes_a_job_and_over_the_job_maximum_is_refused(
    api, settings, refused_url
):
    settings.BATCH_MAX_DEVICES = 2
    settings.JOB_MAX_DEVICES = 2
    devices = [Device.objects.create(name=f"cam{i}", rtsp_url=refused_url) for i in range(3)]
    for payload in ({"device_ids": [str(d.pk) for d in devices]}, {"all": True, "async": True}):
        response = api.post("/api/snapshots/capture/", payload, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "batch_too_large")
    assert Device.objects.filter(last_error="").count() == 3  # refused before any capture
    settings.JOB_MAX_DEVICES = 10
    for payload in ({"device_ids": [str(d.pk) for d in devices]}, {"all": True}):
        response = api.post("/api/snapshots/capture/", payload, format="json")
        assert response.status_code == 202
        assert response.json()["kind"] == "capture_batch"
        assert response.json()["progress"]["total"] == 3
        assert response["Location"] == response.json()["urls"]["self"]


@pytest.fixture
def capture_only_api():
    """A user who may capture but not view the camera register."""
    user = User.objects.create_user("capturer", password="capturer-pass-123")
    user.user_permissions.set(Permission.objects.filter(codename="add_snapshot"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_user_who_may_not_view_cameras_learns_none_of_them(capture_only_api, refused_url):
    disabled = Device.objects.create(name="Secret Gate", rtsp_url=refused_url, enabled=False)
    Device.objects.create(name="Secret Yard", rtsp_url=refused_url)
    response = capture_only_api.post("/api/snapshots/capture/", {"all": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    # Named by id, a camera answers for itself, without its name.
    response = capture_only_api.post("/api/snapshots/capture/", {"device_ids": [str(disabled.pk)]}, format="json")
    assert response.status_code == 200
    assert response.json()["results"][0]["code"] == "device_disabled"
    response = capture_only_api.post(f"/api/snapshots/capture/{disabled.pk}")
    assert response.status_code == 409
    assert "Secret" not in response.content.decode()
