"""Who sees which camera: a user sees the cameras of their groups (superusers every camera), on
every route that lists or answers a camera or its snapshots, and in the admin. A camera the
user may not see answers 404, exactly as one that does not exist."""

import uuid

import pytest
from django.contrib.auth.models import Group, Permission, User

from conftest import bearer_client
from devices.models import Device
from snapshots.models import Snapshot
from snapshots.tests.factories import make_snapshot

ALL_PERMISSIONS = ["view_device", "add_device", "change_device", "delete_device"]
ALL_PERMISSIONS += ["view_snapshot", "add_snapshot", "change_snapshot", "delete_snapshot"]


@pytest.fixture(autouse=True)
def cameras_visible_by_group(settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False


@pytest.fixture
def sites(db, refused_url):
    """Two sites, each a group with one camera and one snapshot of it."""
    site_a, site_b = Group.objects.create(name="site A"), Group.objects.create(name="site B")
    camera_a = Device.objects.create(name="a-door", rtsp_url=refused_url)
    camera_b = Device.objects.create(name="b-door", rtsp_url=refused_url)
    camera_a.groups.set([site_a])
    camera_b.groups.set([site_b])
    return {
        "group_a": site_a,
        "group_b": site_b,
        "camera_a": camera_a,
        "camera_b": camera_b,
        "snapshot_a": make_snapshot(camera_a),
        "snapshot_b": make_snapshot(camera_b),
    }


@pytest.fixture
def alice(sites) -> User:
    """Site A's operator: every model permission, member of site A only."""
    user = User.objects.create_user("alice", password="alice-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=ALL_PERMISSIONS))
    user.groups.set([sites["group_a"]])
    return user


@pytest.fixture
def alice_api(alice):
    return bearer_client(alice)


def routes_of_a_camera(camera: Device, snapshot: Snapshot) -> list[tuple[str, str]]:
    return [
        ("get", f"/api/devices/{camera.pk}"),
        ("patch", f"/api/devices/{camera.pk}"),
        ("delete", f"/api/devices/{camera.pk}"),
        ("get", f"/api/devices/{camera.pk}/live"),
        ("get", f"/api/devices/{camera.pk}/live.jpg"),
        ("get", f"/api/snapshots/device/{camera.pk}"),
        ("get", f"/api/snapshots/device/{camera.pk}/latest"),
        ("get", f"/api/snapshots/device/{camera.pk}/latest.jpg"),
        ("post", f"/api/snapshots/capture/{camera.pk}"),
        ("get", f"/api/snapshots/{snapshot.pk}"),
        ("patch", f"/api/snapshots/{snapshot.pk}"),
        ("delete", f"/api/snapshots/{snapshot.pk}"),
        ("get", f"/api/snapshots/{snapshot.pk}/image"),
        ("get", f"/api/snapshots/{snapshot.pk}/image.jpg"),
        ("get", f"/api/snapshots/{snapshot.pk}/thumbnail.jpg"),
    ]


def answer(client, method: str, path: str):
    body = {"keep": True} if path.startswith("/api/snapshots/") else {"enabled": True}
    return getattr(client, method)(path, body, format="json") if method == "patch" else getattr(client, method)(path)


def test_a_camera_of_another_group_answers_404_like_one_that_does_not_exist_on_every_route(alice_api, sites):
    hidden = routes_of_a_camera(sites["camera_b"], sites["snapshot_b"])
    ghost_camera = Device(id=uuid.uuid4(), name="ghost")
    absent = routes_of_a_camera(ghost_camera, Snapshot(id=uuid.uuid4(), device=ghost_camera))
    for (method, path), (_, ghost_path) in zip(hidden, absent, strict=True):
        response = answer(alice_api, method, path)
        ghost = answer(alice_api, method, ghost_path)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json() == ghost.json(), (method, path)
    # Nothing was changed, deleted or captured on site B.
    assert Device.objects.filter(pk=sites["camera_b"].pk).exists()
    assert Snapshot.objects.get(pk=sites["snapshot_b"].pk).keep is False
    assert sites["camera_b"].snapshots.count() == 1


def test_the_same_routes_answer_for_a_camera_of_the_users_group(alice_api, sites):
    routes = routes_of_a_camera(sites["camera_a"], sites["snapshot_a"])
    deletes = [route for route in routes if route[0] == "delete"]
    # The camera's own delete last: it takes its snapshots with it.
    for method, path in [route for route in routes if route[0] != "delete"] + deletes[::-1]:
        response = answer(alice_api, method, path)
        is_json = response.get("Content-Type") == "application/json"
        code = response.json().get("code") if is_json else None
        # live: no keeper holds the camera; capture: the camera refuses. Never device_not_found.
        assert response.status_code in (200, 204) or code in ("no_live_session", "unreachable"), (method, path)


def test_lists_show_only_the_cameras_and_snapshots_of_the_users_groups(alice_api, sites):
    assert [device["name"] for device in alice_api.get("/api/devices/").json()["results"]] == ["a-door"]
    snapshots = alice_api.get("/api/snapshots/").json()
    assert [row["id"] for row in snapshots["results"]] == [str(sites["snapshot_a"].pk)]
    assert snapshots["count"] == 1
    # Filtering by a hidden camera finds nothing rather than revealing it.
    assert alice_api.get(f"/api/snapshots/?device_id={sites['camera_b'].pk}").json()["results"] == []


def test_a_superuser_sees_every_camera(api, sites):
    assert len(api.get("/api/devices/").json()["results"]) == 2
    assert api.get("/api/snapshots/").json()["count"] == 2
    assert api.get(f"/api/snapshots/{sites['snapshot_b'].pk}/image.jpg").status_code == 200


def test_a_user_in_no_group_sees_no_camera(sites):
    loner = User.objects.create_user("loner")
    loner.user_permissions.set(Permission.objects.filter(codename__in=ALL_PERMISSIONS))
    client = bearer_client(loner)
    assert client.get("/api/devices/").json()["results"] == []
    assert client.get("/api/snapshots/").json()["count"] == 0


def test_with_cameras_visible_to_all_everyone_sees_every_camera(alice_api, sites, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    assert len(alice_api.get("/api/devices/").json()["results"]) == 2
    assert alice_api.get(f"/api/snapshots/device/{sites['camera_b'].pk}/latest").status_code == 200


def test_batch_all_captures_only_visible_cameras_and_a_hidden_one_is_not_found(transactional_db, alice_api, sites):
    body = alice_api.post("/api/snapshots/capture/", {"all": True}, format="json").json()
    assert [row["device_id"] for row in body["results"]] == [str(sites["camera_a"].pk)]
    hidden = str(sites["camera_b"].pk)
    ghost = str(uuid.uuid4())
    body = alice_api.post("/api/snapshots/capture/", {"device_ids": [hidden, ghost]}, format="json").json()
    assert [(row["device_id"], row["code"], row["detail"]) for row in body["results"]] == [
        (hidden, "device_not_found", "No camera with that id or name."),
        (ghost, "device_not_found", "No camera with that id or name."),
    ]


def test_groups_are_ids_in_the_devices_api_and_a_new_camera_gets_its_creators_groups(alice_api, api, sites):
    assert alice_api.get(f"/api/devices/{sites['camera_a'].pk}").json()["groups"] == [sites["group_a"].pk]
    created = alice_api.post("/api/devices/", {"name": "a-yard", "rtsp_url": "rtsp://127.0.0.1/yard"}, format="json")
    assert created.status_code == 201
    assert alice_api.get(f"/api/devices/{created.json()['id']}").json()["groups"] == [sites["group_a"].pk]
    both = [sites["group_a"].pk, sites["group_b"].pk]
    response = api.patch(f"/api/devices/{sites['camera_b'].pk}", {"groups": both}, format="json")
    assert sorted(response.json()["groups"]) == sorted(both)
    assert alice_api.get(f"/api/devices/{sites['camera_b'].pk}").status_code == 200
    response = api.patch(f"/api/devices/{sites['camera_b'].pk}", {"groups": [999999]}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_the_admin_lists_only_visible_cameras_and_snapshots(client, alice, sites):
    client.force_login(alice)
    devices_page = client.get("/admin/devices/device/").content.decode()
    assert "a-door" in devices_page
    assert "b-door" not in devices_page
    snapshots_page = client.get("/admin/snapshots/snapshot/").content.decode()
    assert "a-door" in snapshots_page
    assert "b-door" not in snapshots_page  # neither a row nor a choice of the camera filter
    assert client.get(f"/admin/devices/device/{sites['camera_b'].pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"/admin/snapshots/snapshot/{sites['snapshot_b'].pk}/change/").status_code == 302


def test_the_scheduler_captures_every_due_camera_whatever_its_groups(sites):
    from devices.services import devices_claim_due

    for camera in (sites["camera_a"], sites["camera_b"]):
        camera.capture_interval_s = 60
        camera.save()
    assert {device.name for device in devices_claim_due()} == {"a-door", "b-door"}
