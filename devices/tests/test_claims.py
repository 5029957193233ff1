"""The scheduler's claim: each due camera once per slot, however many schedulers run."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from devices import services
from devices.models import Device
from devices.services import devices_claim_due


def test_only_due_devices_are_claimed(db, settings):
    now = timezone.now()
    due = Device.objects.create(name="due", rtsp_url="rtsp://127.0.0.1/a", capture_interval_s=60)
    Device.objects.create(
        name="later", rtsp_url="rtsp://127.0.0.1/b", capture_interval_s=60, next_capture_at=now + timedelta(seconds=30)
    )
    Device.objects.create(name="off", rtsp_url="rtsp://127.0.0.1/c")
    Device.objects.create(name="disabled", rtsp_url="rtsp://127.0.0.1/d", capture_interval_s=60, enabled=False)
    assert [d.name for d in devices_claim_due(now=now)] == ["due"]
    due.refresh_from_db()
    assert due.next_capture_at == now + timedelta(seconds=60)
    assert devices_claim_due(now=now) == []
    assert [d.name for d in devices_claim_due(now=now + timedelta(seconds=61))] == ["due", "later"]


def test_global_default_interval_applies(db, settings):
    settings.CAPTURE_INTERVAL_S = 30
    Device.objects.create(name="default", rtsp_url="rtsp://127.0.0.1/a")
    Device.objects.create(name="override-off", rtsp_url="rtsp://127.0.0.1/b", capture_interval_s=0)
    assert [d.name for d in devices_claim_due()] == ["default"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_never_claim_a_device_twice_for_one_slot():
    for i in range(20):
        Device.objects.create(name=f"cam{i:02}", rtsp_url="rtsp://127.0.0.1/x", capture_interval_s=60)
    now = timezone.now()
    claims: list[list[str]] = []
    start = threading.Barrier(4)

    def scheduler():
        try:
            start.wait()
            claims.append([d.name for d in devices_claim_due(now=now)])
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every_claim = [name for claim in claims for name in claim]
    assert sorted(every_claim) == [f"cam{i:02}" for i in range(20)]


def test_a_slot_claimed_by_another_scheduler_meanwhile_is_not_claimed_again(db, monkeypatch):
    Device.objects.create(name="raced", rtsp_url="rtsp://127.0.0.1/a", capture_interval_s=60)
    now = timezone.now()

    def other_scheduler_claims_first(*, device: Device) -> int:
        # Between this scheduler's read and its UPDATE, another one moves the slot on.
        Device.objects.filter(pk=device.pk).update(next_capture_at=now + timedelta(seconds=60))
        return 60

    monkeypatch.setattr(services, "device_capture_interval_s", other_scheduler_claims_first)
    assert services.devices_claim_due(now=now) == []
