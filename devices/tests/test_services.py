"""What a capture's outcome writes on its camera, and how a camera is created and edited."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection

from capture import onvif
from devices.models import Device
from devices.services import (
    device_apply_profile,
    device_create,
    device_record_capture_failure,
    device_record_capture_success,
    device_update,
)

pytestmark = pytest.mark.django_db


def test_a_failure_that_reaches_no_camera_marks_it_offline(device):
    device_record_capture_failure(
        device=device, code="unreachable", message="The camera cannot be reached.", offline=True
    )
    device.refresh_from_db()
    assert (device.status, device.last_error) == ("offline", "unreachable: The camera cannot be reached.")
    assert device.last_error_at is not None


def test_a_failure_of_a_reachable_camera_keeps_its_status(device):
    Device.objects.filter(pk=device.pk).update(status="online")
    device.refresh_from_db()
    device_record_capture_failure(device=device, code="auth_failed", message="x" * 500, offline=False)
    device.refresh_from_db()
    assert device.status == "online"
    assert len(device.last_error) == 300


def test_a_success_marks_online_without_overwriting_a_concurrent_edit(device):
    stale = Device.objects.get(pk=device.pk)
    Device.objects.filter(pk=device.pk).update(name="Renamed meanwhile")
    device_record_capture_success(device=stale)
    device.refresh_from_db()
    assert (device.name, device.status) == ("Renamed meanwhile", "online")
    assert device.last_seen_at is not None


# Creating and editing a camera: the rules of the API, the admin and discovery, held by the services.


def test_a_still_source_without_a_snapshot_url_is_refused_by_the_services_themselves(device):
    with pytest.raises(ValidationError) as refused:
        device_create(user=None, name="Gate", rtsp_url="rtsp://127.0.0.1/gate", frame_source="still")
    assert [error.code for error in refused.value.error_dict["frame_source"]] == ["snapshot_url_required"]
    assert not Device.objects.filter(name="Gate").exists()
    with pytest.raises(ValidationError) as refused:
        device_update(device=device, frame_source="still")
    assert refused.value.messages == ["still needs a snapshot URL."]
    assert device.frame_source == "auto"  # the object left as it was, the row unchanged
    assert Device.objects.get(pk=device.pk).frame_source == "auto"
    device_update(device=device, frame_source="still", snapshot_url="http://127.0.0.1/picture")
    assert Device.objects.get(pk=device.pk).frame_source == "still"


def test_create_stores_the_password_given_and_none_for_none_or_empty():
    assert device_create(user=None, name="a", rtsp_url="rtsp://127.0.0.1/a", password="s3cret").password == "s3cret"
    assert Device.objects.get(name="a").password == "s3cret"
    for name, password in (("b", None), ("c", "")):
        device_create(user=None, name=name, rtsp_url="rtsp://127.0.0.1/a", password=password)
        assert Device.objects.get(name=name).has_password is False


@pytest.mark.parametrize(
    ("fields", "stored"),
    [
        ({}, "stored-pw"),  # left out: kept
        ({"password": ""}, "stored-pw"),  # empty: kept
        ({"name": "Renamed", "rtsp_url": "rtsp://127.0.0.1:8554/other-path"}, "stored-pw"),  # same endpoint
        ({"password": None}, ""),  # None: removed
        ({"password": "new-pw"}, "new-pw"),
        ({"rtsp_url": "rtsp://localhost:8554/a"}, ""),  # another host: removed, not sent there
        ({"rtsp_url": "rtsp://127.0.0.1:9554/a"}, ""),  # another port
        ({"rtsp_url": "rtsp://localhost:8554/a", "password": "for-there"}, "for-there"),
        # Newly set at the ONVIF address (the RTSP URL's host, port 80), which it is sent to already.
        ({"snapshot_url": "http://127.0.0.1/picture"}, "stored-pw"),
        ({"snapshot_url": "http://127.0.0.1:8080/picture"}, ""),  # another port of the camera's host
        ({"onvif_port": 8000}, ""),  # the ONVIF address moved
        ({"onvif_host": "10.0.0.5"}, ""),
        ({"snapshot_url": "http://10.0.0.9/picture"}, ""),  # newly set, elsewhere
    ],
)
def test_update_keeps_the_stored_password_unless_told_or_the_urls_move(fields, stored):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1:8554/a", password="stored-pw")
    device_update(device=device, **fields)
    assert (device.password, Device.objects.get(pk=device.pk).password) == (stored, stored)


def test_update_checks_the_fields_given_not_those_stored_before_a_rule():
    device = Device.objects.create(name="Old\x1b", rtsp_url="rtsp://127.0.0.1/a")  # a name refused since
    device_update(device=device, enabled=False)
    assert Device.objects.get(pk=device.pk).enabled is False
    with pytest.raises(ValidationError) as refused:
        device_update(device=device, rtsp_url="rtsp://user:pw@127.0.0.1/a", name="New\x1b")
    assert set(refused.value.error_dict) == {"rtsp_url", "name"}
    assert Device.objects.get(pk=device.pk).rtsp_url == "rtsp://127.0.0.1/a"


def test_create_gives_a_camera_without_groups_its_creators_groups(django_user_model, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    creator = django_user_model.objects.create_user("member", password="member-pass-1")
    team, other = Group.objects.create(name="team"), Group.objects.create(name="other")
    creator.groups.add(team, other)
    mine = device_create(user=creator, name="mine", rtsp_url="rtsp://127.0.0.1/a")
    theirs = device_create(user=creator, name="theirs", rtsp_url="rtsp://127.0.0.1/b", groups=[other])
    assert (set(mine.groups.all()), list(theirs.groups.all())) == ({team, other}, [other])
    device_update(device=theirs, groups=[])
    assert not theirs.groups.exists()


def test_a_profile_on_the_onvif_host_keeps_even_a_password_no_key_decrypts():
    device = Device.objects.create(name="door", rtsp_url="rtsp://127.0.0.1/old", onvif_host="10.0.0.5")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE devices_device SET password = %s WHERE id = %s", ["not-a-fernet-token", device.pk])
    device.refresh_from_db()
    assert device.password_unreadable
    profile = onvif.Profile(token="main", name="main", rtsp_url="rtsp://10.0.0.5/live", snapshot_url="")
    device_apply_profile(device=device, profile=profile)
    device.refresh_from_db()
    assert (device.rtsp_url, device.onvif_profile, device.password_unreadable) == ("rtsp://10.0.0.5/live", "main", True)
    elsewhere = onvif.Profile(token="main", name="main", rtsp_url="rtsp://198.51.100.9/live", snapshot_url="")
    device_apply_profile(device=device, profile=elsewhere)
    device.refresh_from_db()
    assert device.has_password is False
