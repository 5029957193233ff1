"""What a capture's outcome writes on its camera."""

import pytest

from devices.models import Device
from devices.services import device_record_capture_failure, device_record_capture_success

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
