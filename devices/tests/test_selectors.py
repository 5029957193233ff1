import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devices.models import Device
from devices.selectors import Retention, device_capture_interval_s, device_get, device_retention, devices_select

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def cameras():
    return [Device.objects.create(name=name, rtsp_url=f"rtsp://127.0.0.1/{name}") for name in ("a", "b", "c")]


def test_select_by_ids_and_names_keeps_the_order_given(cameras):
    a, b, c = cameras
    selection = devices_select(user=None, references=["c", str(a.pk), b.pk])
    assert selection.devices == [c, a, b]
    assert selection.missing == []


def test_a_camera_named_twice_is_selected_once(cameras):
    a = cameras[0]
    selection = devices_select(user=None, references=[str(a.pk), "a", str(a.pk).upper()])
    assert selection.devices == [a]


def test_references_that_name_no_camera_are_returned_as_given(cameras):
    selection = devices_select(user=None, references=["ghost", MISSING, "b"])
    assert [device.name for device in selection.devices] == ["b"]
    assert selection.missing == ["ghost", MISSING]


def test_all_enabled_leaves_out_disabled_cameras(cameras):
    Device.objects.filter(name="b").update(enabled=False)
    assert [device.name for device in devices_select(user=None, all_enabled=True).devices] == ["a", "c"]


def test_select_takes_two_queries_however_many_references(cameras):
    with CaptureQueriesContext(connection) as queries:
        devices_select(user=None, references=[*(str(device.pk) for device in cameras), "a", "b", "ghost"])
    assert len(queries) == 2


def test_device_get_by_id_only(cameras):
    assert device_get(device_id=cameras[0].pk, user=None) == cameras[0]
    assert device_get(device_id="a", user=None) is None
    assert device_get(device_id=MISSING, user=None) is None


def test_own_values_win_over_the_defaults(settings, cameras):
    settings.CAPTURE_INTERVAL_S, settings.RETENTION_DAYS, settings.RETENTION_MAX_SNAPSHOTS = 60, 30, 500
    settings.RETENTION_MAX_BYTES = 10**9
    device = cameras[0]
    assert device_capture_interval_s(device=device) == 60
    assert device_retention(device=device) == Retention(days=30, max_snapshots=500, max_bytes=10**9)
    device.capture_interval_s, device.retention_days, device.retention_max_snapshots = 0, 0, 5
    device.retention_max_bytes = 0
    assert device_capture_interval_s(device=device) == 0
    assert device_retention(device=device) == Retention(days=0, max_snapshots=5, max_bytes=0)
