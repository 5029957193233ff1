"""API keys: made once and shown once, narrowing their user to scopes, cameras and networks;
refused with a code of their own when revoked, expired or from elsewhere; never in a log line."""

import base64
import logging
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from apikeys.models import ApiKey
from conftest import bearer_client
from devices.models import Device
from snapshots.models import Snapshot
from snapshots.tests.factories import make_snapshot
from snapshots.tests.test_visibility import ALL_PERMISSIONS, answer, routes_of_a_camera


@pytest.fixture(autouse=True)
def cameras_visible_by_group(settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False


@pytest.fixture
def site(db, refused_url):
    """Alice's two groups (a camera in A, two in C) and Bob's group B with its camera."""
    groups = {name: Group.objects.create(name=f"site {name}") for name in "ABC"}
    cameras = {}
    for name, group in [("a1", "A"), ("a2", "A"), ("b", "B"), ("c", "C")]:
        cameras[name] = Device.objects.create(name=f"{name}-door", rtsp_url=refused_url)
        cameras[name].groups.set([groups[group]])
    alice = User.objects.create_user("alice", password="alice-pass-123")
    alice.user_permissions.set(Permission.objects.filter(codename__in=ALL_PERMISSIONS))
    alice.groups.set([groups["A"], groups["C"]])
    snapshots = {name: make_snapshot(camera) for name, camera in cameras.items()}
    return {"groups": groups, "cameras": cameras, "snapshots": snapshots, "alice": alice}


@pytest.fixture
def alice_api(site):
    return bearer_client(site["alice"])


def make_key(client: APIClient, **fields) -> dict:
    response = client.post("/api/keys", {"name": "integration", "scopes": ["view"], **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_a_key_is_shown_once_at_creation_and_then_only_by_its_prefix(alice_api):
    made = make_key(alice_api)
    assert made["key"].startswith(made["prefix"] + ".")
    assert set(made) >= {"id", "name", "prefix", "key", "scopes", "expires_at", "last_used_at"}
    listed = alice_api.get("/api/keys").json()["results"]
    detail = alice_api.get(f"/api/keys/{made['id']}/").json()
    assert [row["prefix"] for row in listed] == [made["prefix"]]
    assert made["key"] not in str(listed) + str(detail)
    assert "key" not in detail
    stored = ApiKey.objects.get(pk=made["id"])
    assert made["key"] not in stored.hashed_key and stored.hashed_key.startswith("sha512$$")


def test_a_key_authenticates_as_its_user(alice_api):
    key = make_key(alice_api)["key"]
    names = [row["name"] for row in key_client(key).get("/api/devices/").json()["results"]]
    assert sorted(names) == ["a1-door", "a2-door", "c-door"]


def test_the_key_is_also_taken_from_x_api_key_never_from_the_query(alice_api):
    key = make_key(alice_api)["key"]
    assert APIClient().get("/api/devices/", HTTP_X_API_KEY=key).status_code == 200
    assert APIClient().get(f"/api/devices/?api_key={key}").status_code == 401


def test_a_key_given_one_camera_answers_404_for_the_users_other_cameras_on_every_route(alice_api, site):
    key = make_key(alice_api, scopes=["view", "capture", "manage"], device_ids=[str(site["cameras"]["a1"].pk)])["key"]
    client = key_client(key)
    ghost = Device(id=uuid.uuid4(), name="ghost")
    hidden = routes_of_a_camera(site["cameras"]["a2"], site["snapshots"]["a2"])
    absent = routes_of_a_camera(ghost, Snapshot(id=uuid.uuid4(), device=ghost))
    for (method, path), (_, ghost_path) in zip(hidden, absent, strict=True):
        response = answer(client, method, path)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json() == answer(client, method, ghost_path).json(), (method, path)
    assert Device.objects.filter(pk=site["cameras"]["a2"].pk).exists()
    assert site["cameras"]["a2"].snapshots.count() == 1


def test_a_key_given_one_camera_lists_only_that_camera_and_its_snapshots(alice_api, site):
    camera = site["cameras"]["a1"]
    client = key_client(make_key(alice_api, device_ids=[str(camera.pk)])["key"])
    assert [row["name"] for row in client.get("/api/devices/").json()["results"]] == ["a1-door"]
    snapshots = client.get("/api/snapshots/").json()
    assert [row["id"] for row in snapshots["results"]] == [str(site["snapshots"]["a1"].pk)]
    assert client.get(f"/api/snapshots/?device_id={site['cameras']['a2'].pk}").json()["results"] == []
    assert client.get(f"/api/snapshots/device/{camera.pk}/latest.jpg").status_code == 200


def test_a_key_given_a_group_sees_that_groups_cameras_only(alice_api, site):
    client = key_client(make_key(alice_api, group_ids=[site["groups"]["C"].pk])["key"])
    assert [row["name"] for row in client.get("/api/devices/").json()["results"]] == ["c-door"]
    assert client.get(f"/api/devices/{site['cameras']['a1'].pk}").status_code == 404


def test_a_superusers_key_given_one_camera_sees_only_that_camera(api, site):
    client = key_client(make_key(api, device_ids=[str(site["cameras"]["b"].pk)])["key"])
    assert [row["name"] for row in client.get("/api/devices/").json()["results"]] == ["b-door"]
    assert client.get("/api/snapshots/").json()["count"] == 1
    # A narrowed key does not see every camera: the webhooks, which carry every camera's events, are refused.
    assert client.get("/api/webhooks/").status_code == 403


def test_a_view_key_cannot_capture_or_change_a_camera(alice_api, site):
    client = key_client(make_key(alice_api, scopes=["view"])["key"])
    camera = site["cameras"]["a1"]
    for response in [
        client.post(f"/api/snapshots/capture/{camera.pk}"),
        client.post("/api/snapshots/capture/", {"all": True}, format="json"),
        client.patch(f"/api/devices/{camera.pk}", {"enabled": False}, format="json"),
    ]:
        assert (response.status_code, response.json()["code"]) == (403, "key_scope")
    assert camera.snapshots.count() == 1


def test_a_capture_key_can_capture_but_not_change_a_camera(alice_api, site):
    client = key_client(make_key(alice_api, scopes=["capture"])["key"])
    camera = site["cameras"]["a1"]
    response = client.post(f"/api/snapshots/capture/{camera.pk}")
    # The camera's address refuses connections: the capture was tried, not refused to the key.
    assert (response.status_code, response.json()["code"]) == (502, "unreachable")
    assert client.patch(f"/api/devices/{camera.pk}", {"enabled": False}, format="json").status_code == 403
    assert client.get("/api/devices/").json()["code"] == "key_scope"


def test_a_key_grants_no_more_than_its_users_permissions(viewer_user, device):
    key = make_key(bearer_client(viewer_user), scopes=["view", "capture", "manage"])["key"]
    response = key_client(key).post(f"/api/snapshots/capture/{device.pk}")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_a_revoked_key_is_refused_on_the_next_request(alice_api):
    made = make_key(alice_api)
    client = key_client(made["key"])
    assert client.get("/api/devices/").status_code == 200
    assert alice_api.delete(f"/api/keys/{made['id']}").status_code == 204
    response = client.get("/api/devices/")
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "The API key has been revoked.", "code": "key_invalid"},
    )
    assert alice_api.get(f"/api/keys/{made['id']}").json()["revoked"] is True


def test_an_expired_key_is_refused(alice_api):
    made = make_key(alice_api, expires_at=(timezone.now() + timedelta(hours=1)).isoformat())
    ApiKey.objects.filter(pk=made["id"]).update(expiry_date=timezone.now() - timedelta(seconds=1))
    response = key_client(made["key"]).get("/api/devices/")
    assert (response.status_code, response.json()["code"]) == (401, "key_invalid")


def test_a_key_is_refused_from_outside_its_networks_and_taken_from_inside(alice_api):
    elsewhere = make_key(alice_api, allowed_ips=["192.0.2.0/24", "2001:db8::/32"])["key"]
    response = key_client(elsewhere).get("/api/devices/")
    assert (response.status_code, response.json()["code"]) == (401, "key_address")
    here = make_key(alice_api, allowed_ips=["127.0.0.0/8"])["key"]
    assert key_client(here).get("/api/devices/").status_code == 200


def test_a_wrong_key_is_401_and_wrong_keys_are_throttled_like_passwords(alice_api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/min")
    right = make_key(alice_api)
    wrong = key_client(right["prefix"] + ".not-the-secret")
    codes = [wrong.get("/api/devices/").json()["code"] for _ in range(4)]
    assert codes == ["key_invalid"] * 3 + ["throttled"]
    # The same budget as the password login's.
    login = APIClient().post("/api/auth/login-json", {"username": "alice", "password": "alice-pass-123"}, format="json")
    assert login.status_code == 429
    # A right key is never refused for the guesses of others behind the same address.
    assert key_client(right["key"]).get("/api/devices/").status_code == 200


def test_the_key_is_in_no_later_answer_log_line_or_error(alice_api, site, caplog):
    caplog.set_level(logging.DEBUG)
    made = make_key(alice_api, scopes=["view"])
    client = key_client(made["key"])
    answers = [
        client.get("/api/devices/"),
        client.get(f"/api/devices/{uuid.uuid4()}"),
        client.post(f"/api/snapshots/capture/{site['cameras']['a1'].pk}"),
        client.get("/api/no-such-route"),
        alice_api.get("/api/keys"),
        alice_api.delete(f"/api/keys/{made['id']}"),
        client.get("/api/devices/"),
        APIClient().get("/api/devices/", HTTP_AUTHORIZATION=f"Api-Key {made['key']}x"),
    ]
    hashed = ApiKey.objects.get(pk=made["id"]).hashed_key.partition("$$")[2]
    secret = made["key"].partition(".")[2]
    texts = [response.content.decode() for response in answers] + [str(dict(r.items())) for r in answers]
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert secret not in "\n".join(texts) + logged
    assert hashed not in "\n".join(texts) + logged
    assert made["prefix"] in logged  # the prefix names the key in the log lines


def test_last_used_at_is_written_at_most_once_a_minute(alice_api):
    made = make_key(alice_api)
    client = key_client(made["key"])
    client.get("/api/devices/")
    first = ApiKey.objects.get(pk=made["id"]).last_used_at
    client.get("/api/devices/")
    assert first is not None and ApiKey.objects.get(pk=made["id"]).last_used_at == first
    ApiKey.objects.filter(pk=made["id"]).update(last_used_at=first - timedelta(seconds=61))
    client.get("/api/devices/")
    assert ApiKey.objects.get(pk=made["id"]).last_used_at > first


def test_a_key_cannot_be_given_a_camera_or_group_its_user_may_not_see(alice_api, site):
    hidden, ghost = site["cameras"]["b"], uuid.uuid4()
    answers = [
        alice_api.post("/api/keys", {"name": "k", "scopes": ["view"], "device_ids": [str(pk)]}, format="json")
        for pk in (hidden.pk, ghost)
    ]
    assert [response.status_code for response in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert list(answers[0].json()["errors"]) == ["device_ids"]
    assert str(hidden.pk) not in answers[0].content.decode() and hidden.name not in answers[0].content.decode()
    group = alice_api.post(
        "/api/keys", {"name": "k", "scopes": ["view"], "group_ids": [site["groups"]["B"].pk]}, format="json"
    )
    assert (group.status_code, list(group.json()["errors"])) == (400, ["group_ids"])
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scopes", ["view", "admin"]),
        ("scopes", []),
        ("expires_at", "2001-01-01T00:00:00Z"),
        ("allowed_ips", ["not-a-network"]),
        ("device_ids", ["not-a-uuid"]),
    ],
)
def test_bad_input_is_a_400_naming_the_field(alice_api, field, value):
    response = alice_api.post("/api/keys", {"name": "k", "scopes": ["view"], field: value}, format="json")
    assert (response.status_code, response.json()["code"], list(response.json()["errors"])) == (400, "invalid", [field])


def test_a_key_cannot_make_keys_but_a_manage_key_can_list_and_revoke_them(alice_api):
    made = make_key(alice_api, scopes=["manage"])
    client = key_client(made["key"])
    response = client.post("/api/keys", {"name": "wider", "scopes": ["view"]}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "key_scope")
    assert [row["id"] for row in client.get("/api/keys/").json()["results"]] == [made["id"]]
    assert key_client(make_key(alice_api)["key"]).get("/api/keys").json()["code"] == "key_scope"


def test_staff_who_see_every_camera_list_every_key_others_their_own(api, alice_api, site, admin_user):
    mine = make_key(alice_api)
    theirs = make_key(api)
    assert [row["id"] for row in alice_api.get("/api/keys").json()["results"]] == [mine["id"]]
    assert alice_api.get(f"/api/keys/{theirs['id']}").json()["code"] == "key_not_found"
    assert alice_api.delete(f"/api/keys/{theirs['id']}").status_code == 404
    assert {row["id"] for row in api.get("/api/keys").json()["results"]} == {mine["id"], theirs["id"]}


def test_image_routes_alone_take_the_key_as_a_basic_password(alice_api, site):
    key = make_key(alice_api)["key"]
    basic = "Basic " + base64.b64encode(f"ha:{key}".encode()).decode()
    camera, snapshot = site["cameras"]["a1"], site["snapshots"]["a1"]
    client = APIClient()
    for path in [f"/api/snapshots/device/{camera.pk}/latest.jpg", f"/api/snapshots/{snapshot.pk}/thumbnail.jpg"]:
        response = client.get(path, HTTP_AUTHORIZATION=basic)
        assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg"), path
    assert client.get(f"/api/snapshots/{snapshot.pk}", HTTP_AUTHORIZATION=basic).status_code == 401
    assert client.delete(f"/api/snapshots/{snapshot.pk}/image.jpg", HTTP_AUTHORIZATION=basic).status_code == 401


def test_routes_answer_with_and_without_a_trailing_slash(alice_api):
    made = make_key(alice_api)
    assert alice_api.get("/api/keys/").status_code == alice_api.get("/api/keys").status_code == 200
    assert alice_api.get(f"/api/keys/{made['id']}/").status_code == 200
