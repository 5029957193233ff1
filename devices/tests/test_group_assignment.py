"""A user assigns a camera only to groups they belong to (superusers, and the product itself, to
any): a group they are not in is refused exactly as one that does not exist, in one message that
names no group, so group ids cannot be told apart by trying them. A group already on the camera
may stay (a PUT sends it back) or be taken off. Held by the services, for every entry point."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError

from conftest import bearer_client
from devices.models import Device
from devices.services import GROUP_NOT_ASSIGNABLE, device_create, device_update

pytestmark = pytest.mark.django_db

MESSAGE = "No group with this id among the groups you belong to."
PERMISSIONS = ["view_device", "add_device", "change_device", "delete_device"]


@pytest.fixture(autouse=True)
def cameras_visible_by_group(settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False


@pytest.fixture
def sites(db):
    site_a, site_b = Group.objects.create(name="site A"), Group.objects.create(name="site B")
    camera_a = Device.objects.create(name="a-door", rtsp_url="rtsp://127.0.0.1/a")
    camera_a.groups.set([site_a])
    return {"a": site_a, "b": site_b, "camera_a": camera_a, "ghost": site_b.pk + 1000}


@pytest.fixture
def alice(sites) -> User:
    """Site A's operator: every permission on cameras, member of site A only."""
    user = User.objects.create_user("alice", password="alice-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=PERMISSIONS))
    user.groups.set([sites["a"]])
    return user


@pytest.fixture
def alice_api(alice):
    return bearer_client(alice)


def new_camera(**fields) -> dict:
    return {"name": "a-yard", "rtsp_url": "rtsp://127.0.0.1/yard", **fields}


def test_the_message_is_the_services_one():
    assert GROUP_NOT_ASSIGNABLE == MESSAGE


def test_a_new_camera_in_a_group_the_user_is_not_in_is_refused_as_a_group_that_does_not_exist(alice_api, sites):
    theirs = alice_api.post("/api/devices/", new_camera(groups=[sites["b"].pk]), format="json")
    ghost = alice_api.post("/api/devices/", new_camera(groups=[sites["ghost"]]), format="json")
    assert theirs.status_code == ghost.status_code == 400
    assert (
        theirs.json()
        == ghost.json()
        == {
            "detail": "Invalid input: groups.",
            "code": "invalid",
            "errors": {"groups": [MESSAGE]},
        }
    )
    mixed = alice_api.post("/api/devices/", new_camera(groups=[sites["a"].pk, sites["b"].pk]), format="json")
    assert mixed.json() == theirs.json()
    assert not Device.objects.filter(name="a-yard").exists()
    assert not sites["b"].devices.exists()


def test_a_user_may_put_a_camera_in_their_own_groups(alice_api, sites):
    response = alice_api.post("/api/devices/", new_camera(groups=[sites["a"].pk]), format="json")
    assert (response.status_code, response.json()["groups"]) == (201, [sites["a"].pk])


@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_edit_that_adds_a_group_the_user_is_not_in_is_refused_and_changes_nothing(alice_api, sites, method):
    camera = sites["camera_a"]
    for groups in ([sites["a"].pk, sites["b"].pk], [sites["b"].pk], [sites["ghost"]]):
        body = {"name": "a-door", "rtsp_url": camera.rtsp_url, "groups": groups}
        response = getattr(alice_api, method)(f"/api/devices/{camera.pk}", body, format="json")
        assert (response.status_code, response.json()["errors"]) == (400, {"groups": [MESSAGE]})
    assert list(camera.groups.all()) == [sites["a"]]


def test_a_group_already_on_the_camera_may_stay_or_go(alice_api, api, sites):
    camera = sites["camera_a"]
    both = sorted([sites["a"].pk, sites["b"].pk])
    assert api.patch(f"/api/devices/{camera.pk}", {"groups": both}, format="json").status_code == 200
    body = {"name": "a-door", "rtsp_url": camera.rtsp_url, "groups": both}
    response = alice_api.put(f"/api/devices/{camera.pk}", body, format="json")  # sent back as it was
    assert (response.status_code, sorted(response.json()["groups"])) == (200, both)
    response = alice_api.patch(f"/api/devices/{camera.pk}", {"name": "a-door 2"}, format="json")
    assert sorted(response.json()["groups"]) == both
    response = alice_api.patch(f"/api/devices/{camera.pk}", {"groups": [sites["a"].pk]}, format="json")
    assert (response.status_code, response.json()["groups"]) == (200, [sites["a"].pk])
    response = alice_api.patch(f"/api/devices/{camera.pk}", {"groups": both}, format="json")  # gone: not hers to add
    assert (response.status_code, response.json()["errors"]) == (400, {"groups": [MESSAGE]})


def test_a_superuser_assigns_any_group_and_a_missing_one_gets_the_same_message(api, sites):
    response = api.post("/api/devices/", new_camera(groups=[sites["b"].pk]), format="json")
    assert (response.status_code, response.json()["groups"]) == (201, [sites["b"].pk])
    response = api.post("/api/devices/", new_camera(name="other", groups=[sites["ghost"]]), format="json")
    assert (response.status_code, response.json()["errors"]) == (400, {"groups": [MESSAGE]})


def test_with_cameras_visible_to_all_only_superusers_are_excepted(alice_api, sites, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    response = alice_api.post("/api/devices/", new_camera(groups=[sites["b"].pk]), format="json")
    assert (response.status_code, response.json()["errors"]) == (400, {"groups": [MESSAGE]})


def test_a_user_in_no_group_assigns_none(sites, django_user_model):
    loner = django_user_model.objects.create_user("loner", password="loner-pass-123")
    loner.user_permissions.set(Permission.objects.filter(codename__in=PERMISSIONS))
    response = bearer_client(loner).post("/api/devices/", new_camera(groups=[sites["a"].pk]), format="json")
    assert (response.status_code, response.json()["errors"]) == (400, {"groups": [MESSAGE]})


def test_the_services_hold_the_rule_for_every_entry_point(alice, sites):
    with pytest.raises(ValidationError) as refused:
        device_create(user=alice, name="a-yard", rtsp_url="rtsp://127.0.0.1/yard", groups=[sites["b"]])
    assert [(error.code, error.message) for error in refused.value.error_dict["groups"]] == [
        ("does_not_exist", MESSAGE)
    ]
    assert not Device.objects.filter(name="a-yard").exists()
    camera = sites["camera_a"]
    for groups in ([sites["b"]], [sites["b"].pk], [sites["ghost"]], ["not-an-id"]):
        with pytest.raises(ValidationError) as refused:
            device_update(device=camera, user=alice, groups=groups)
        assert refused.value.messages == [MESSAGE]
    assert list(camera.groups.all()) == [sites["a"]]
    # Refused with the other errors of the same change, all at once, nothing saved.
    with pytest.raises(ValidationError) as refused:
        device_update(device=camera, user=alice, name="x\x1b", groups=[sites["b"]])
    assert set(refused.value.error_dict) == {"name", "groups"}
    assert Device.objects.get(pk=camera.pk).name == "a-door"
    # The product itself (None) and superusers assign any existing group.
    device_update(device=camera, user=None, groups=[sites["b"]])
    assert list(camera.groups.all()) == [sites["b"]]
    with pytest.raises(ValidationError):
        device_update(device=camera, user=None, groups=[sites["ghost"]])


ADMIN_FORM = {"name": "a-yard", "rtsp_url": "rtsp://127.0.0.1/yard", "frame_source": "auto", "onvif_port": "80"}


@pytest.mark.parametrize("adding", [True, False])
def test_the_admin_refuses_a_group_the_user_is_not_in_as_one_that_does_not_exist(client, alice, sites, adding):
    client.force_login(alice)
    camera = sites["camera_a"]
    path = "/admin/devices/device/add/" if adding else f"/admin/devices/device/{camera.pk}/change/"
    errors = []
    for group in (sites["b"].pk, sites["ghost"]):
        response = client.post(path, {**ADMIN_FORM, "groups": [sites["a"].pk, group]})
        assert response.status_code == 200
        errors.append(response.context["adminform"].form.errors)
    assert list(errors[0]) == ["groups"]
    assert str(errors[0]).replace(str(sites["b"].pk), "?") == str(errors[1]).replace(str(sites["ghost"]), "?")
    assert not sites["b"].devices.exists()


# What devices/admin.py does not do yet (it is edited elsewhere): strict, so that each shows up
# as passing once the admin does it, and its marker is taken off.


def test_the_admin_with_cameras_visible_to_all_refuses_on_the_field_what_the_services_refuse(
    client, alice, sites, settings
):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    client.force_login(alice)
    response = client.post("/admin/devices/device/add/", {**ADMIN_FORM, "groups": [sites["b"].pk]})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["groups"]


def test_the_admin_never_saves_a_change_giving_a_group_the_user_is_not_in(client, alice, sites, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    client.force_login(alice)
    camera = sites["camera_a"]
    try:
        client.post(f"/admin/devices/device/{camera.pk}/change/", {**ADMIN_FORM, "groups": [sites["b"].pk]})
    except ValidationError:
        pass
    assert not sites["b"].devices.exists()


def test_the_admin_lets_a_group_already_on_the_camera_stay(client, alice, sites):
    camera = sites["camera_a"]
    camera.groups.add(sites["b"])
    client.force_login(alice)
    data = {**ADMIN_FORM, "name": "a-door", "groups": [sites["a"].pk, sites["b"].pk]}
    response = client.post(f"/admin/devices/device/{camera.pk}/change/", data)
    assert response.status_code == 302
    assert set(camera.groups.all()) == {sites["a"], sites["b"]}
