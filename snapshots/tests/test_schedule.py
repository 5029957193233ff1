from io import StringIO

import pytest
from django.core.management import call_command

from devices.models import Device
from snapshots.models import Snapshot


@pytest.mark.django_db(transaction=True)
def test_scheduler_tick_captures_due_devices_and_records_failures(camera, refused_url):
    Device.objects.create(name="due", rtsp_url=camera.url("cam6"), capture_interval_s=60)
    dead = Device.objects.create(name="dead", rtsp_url=refused_url, capture_interval_s=60)
    Device.objects.create(name="unscheduled", rtsp_url=camera.url("cam7"))
    out = StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    assert "scheduled OK    due: 640x360" in out.getvalue()
    assert list(Snapshot.objects.values_list("device__name", "trigger")) == [("due", "schedule")]
    dead.refresh_from_db()
    assert dead.last_error.startswith("unreachable:")
    assert dead.last_error_at is not None
