import re

import pytest

from devices.models import Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client, admin_user):
    client.force_login(admin_user)
    return client


def test_change_page_never_shows_the_password(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="admin-hidden-77")
    response = admin_client_logged_in.get(f"/admin/devices/device/{device.pk}/change/")
    assert response.status_code == 200
    assert "admin-hidden-77" not in response.content.decode()


def post_change(client, device, password, **extra):
    data = {"name": device.name, "rtsp_url": device.rtsp_url, "frame_source": "auto", "onvif_port": "80"}
    data |= {"username": "", "password": password, "enabled": "on"}
    return client.post(f"/admin/devices/device/{device.pk}/change/", {**data, **extra})


def test_clear_password_removes_it(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="drop-this")
    assert post_change(admin_client_logged_in, device, "", clear_password="on").status_code == 302
    device.refresh_from_db()
    assert device.password == ""


def test_a_new_password_and_clear_together_are_refused(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="stays")
    response = post_change(admin_client_logged_in, device, "other", clear_password="on")
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    device.refresh_from_db()
    assert device.password == "stays"


def test_empty_password_keeps_the_current_one(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="keep-this")
    assert post_change(admin_client_logged_in, device, "").status_code == 302
    device.refresh_from_db()
    assert device.password == "keep-this"


def test_a_url_moved_to_another_host_drops_the_password(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="stays-home")
    response = post_change(admin_client_logged_in, device, "", rtsp_url="rtsp://localhost/a")
    assert response.status_code == 302
    device.refresh_from_db()
    assert (device.rtsp_url, device.password) == ("rtsp://localhost/a", "")


def test_a_url_moved_to_another_path_keeps_the_password(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="stays-home")
    assert post_change(admin_client_logged_in, device, "", rtsp_url="rtsp://127.0.0.1:554/b").status_code == 302
    device.refresh_from_db()
    assert device.password == "stays-home"


def test_new_password_replaces_the_current_one(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="old")
    assert post_change(admin_client_logged_in, device, "brand-new").status_code == 302
    device.refresh_from_db()
    assert device.password == "brand-new"


def test_invalid_url_is_shown_as_a_form_error(admin_client_logged_in):
    response = admin_client_logged_in.post(
        "/admin/devices/device/add/", {"name": "bad", "rtsp_url": "rtsp://u:p@127.0.0.1/a", "password": ""}
    )
    assert response.status_code == 200
    assert "Put camera credentials in the username and password fields" in response.content.decode()
    assert not Device.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_capture_action_reports_each_device(client, admin_user, camera, refused_url):
    client.force_login(admin_user)
    good = Device.objects.create(name="good", rtsp_url=camera.url("fast"))
    dead = Device.objects.create(name="dead", rtsp_url=refused_url)
    response = client.post(
        "/admin/devices/device/",
        {"action": "capture_now", "_selected_action": [str(good.pk), str(dead.pk)]},
        follow=True,
    )
    text = response.content.decode()
    assert "Good: captured (640x360" in text
    assert "Dead: The camera cannot be reached (Connection refused)" in text
    assert list(good.snapshots.values_list("trigger", flat=True)) == ["admin"]
    assert not dead.snapshots.exists()


def test_a_name_with_control_characters_is_a_form_error(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a")
    device.name = "cam\x1b[31m"
    response = post_change(admin_client_logged_in, device, "")
    assert response.status_code == 200
    assert "must not contain control characters" in response.content.decode()
    assert Device.objects.get(pk=device.pk).name == "cam"


def test_live_mode_is_shown_and_set_in_the_admin(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a")
    page = admin_client_logged_in.get(f"/admin/devices/device/{device.pk}/change/").content.decode()
    assert re.search(r'<input type="checkbox" name="live"[^>]* checked', page)
    assert post_change(admin_client_logged_in, device, "").status_code == 302  # the box left unticked
    device.refresh_from_db()
    assert device.live is False
    listed = admin_client_logged_in.get("/admin/devices/device/?live__exact=0").content.decode()
    assert "cam" in listed


def test_a_view_only_staff_user_never_sees_the_password(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("looker", password="looker-pass-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_device"))
    client.force_login(viewer)
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="view-only-secret-9")
    page = client.get(f"/admin/devices/device/{device.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "view-only-secret-9" not in text
    assert "Password set" in text


def test_a_camera_added_without_groups_joins_its_creators_groups(client, django_user_model, settings):
    from django.contrib.auth.models import Group, Permission

    settings.CAMERAS_VISIBLE_TO_ALL = False
    staff = django_user_model.objects.create_user("staffer", password="staffer-pass-1", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["add_device", "change_device", "view_device"]))
    team, other = Group.objects.create(name="team"), Group.objects.create(name="other")
    staff.groups.add(team, other)
    client.force_login(staff)
    data = {"rtsp_url": "rtsp://127.0.0.1/a", "frame_source": "auto", "onvif_port": "80", "password": "pw-1"}
    assert client.post("/admin/devices/device/add/", {**data, "name": "mine"}).status_code == 302
    theirs_data = {**data, "name": "theirs", "groups": [other.pk]}
    assert client.post("/admin/devices/device/add/", theirs_data).status_code == 302
    mine, theirs = Device.objects.get(name="mine"), Device.objects.get(name="theirs")
    assert (set(mine.groups.all()), list(theirs.groups.all()), mine.password) == ({team, other}, [other], "pw-1")


def test_a_still_source_without_a_snapshot_url_is_shown_on_its_field(admin_client_logged_in):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="stays")
    response = post_change(admin_client_logged_in, device, "", frame_source="still")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"frame_source": ["still needs a snapshot URL."]}
    assert Device.objects.get(pk=device.pk).frame_source == "auto"
