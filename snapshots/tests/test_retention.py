from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from devices.models import Device
from snapshots import retention
from snapshots.models import Snapshot
from snapshots.retention import snapshot_prune, snapshot_prune_device
from snapshots.tests.factories import make_snapshot

pytestmark = pytest.mark.django_db


def aged(device: Device, *days: float) -> list[Snapshot]:
    now = timezone.now()
    return [make_snapshot(device, captured_at=now - timedelta(days=d)) for d in days]


def remaining(device: Device) -> set:
    return set(device.snapshots.values_list("pk", flat=True))


def test_days_limit_removes_older_snapshots(device):
    device.retention_days = 7
    new, old = aged(device, 1, 8)
    assert snapshot_prune_device(device=device) == 1
    assert remaining(device) == {new.pk}


def test_count_limit_keeps_the_newest(device):
    device.retention_max_snapshots = 2
    newest, second, third, fourth = aged(device, 0.1, 0.2, 0.3, 0.4)
    assert snapshot_prune_device(device=device) == 2
    assert remaining(device) == {newest.pk, second.pk}


def test_both_limits_apply_together(device):
    device.retention_days = 7
    device.retention_max_snapshots = 3
    kept = aged(device, 1, 2, 3)
    aged(device, 4, 10)
    assert snapshot_prune_device(device=device) == 2
    assert remaining(device) == {s.pk for s in kept}


def test_keep_is_never_pruned(device):
    device.retention_days = 1
    device.retention_max_snapshots = 1
    precious = aged(device, 30)[0]
    precious.keep = True
    precious.save()
    newest = aged(device, 0)[0]
    aged(device, 5)
    snapshot_prune_device(device=device)
    assert remaining(device) == {precious.pk, newest.pk}


def test_global_defaults_apply_when_the_device_sets_none(device, settings):
    settings.RETENTION_DAYS = 3
    fresh = aged(device, 1, 5)[0]
    snapshot_prune_device(device=device)
    assert remaining(device) == {fresh.pk}


def test_device_zero_overrides_a_global_limit(device, settings):
    settings.RETENTION_DAYS = 3
    device.retention_days = 0
    aged(device, 1, 5)
    assert snapshot_prune_device(device=device) == 0


def test_deletes_in_batches(device, monkeypatch):
    monkeypatch.setattr(retention, "PRUNE_BATCH_SIZE", 2)
    device.retention_days = 1
    aged(device, 2, 3, 4, 5, 6)
    assert snapshot_prune_device(device=device) == 5
    assert not device.snapshots.exists()


def test_command_reports_per_device_and_dry_run_deletes_nothing(device):
    Device.objects.filter(pk=device.pk).update(retention_days=7)
    other = Device.objects.create(name="Yard", rtsp_url="rtsp://127.0.0.1/y")
    aged(device, 1, 8, 9)
    aged(other, 100)
    out = StringIO()
    call_command("prune_snapshots", "--dry-run", stdout=out)
    assert "Lobby: would delete 2" in out.getvalue()
    assert "Yard: would delete 0" in out.getvalue()
    assert Snapshot.objects.count() == 4
    out = StringIO()
    call_command("prune_snapshots", stdout=out)
    assert "Lobby: deleted 2" in out.getvalue()
    assert "deleted 2 snapshot(s) in all" in out.getvalue()
    assert [r.deleted for r in snapshot_prune()] == [0, 0]


def test_keep_is_settable_through_the_api(api, device):
    snapshot = make_snapshot(device)
    response = api.patch(f"/api/snapshots/{snapshot.pk}", {"keep": True}, format="json")
    assert response.status_code == 200
    assert response.json()["keep"] is True
    snapshot.refresh_from_db()
    assert snapshot.keep is True


def test_keep_needs_a_boolean(api, device):
    snapshot = make_snapshot(device)
    response = api.patch(f"/api/snapshots/{snapshot.pk}", {"keep": "perhaps"}, format="json")
    assert response.status_code == 400
    assert "keep" in response.json()["errors"]


def test_viewer_cannot_set_keep(viewer_api, device):
    snapshot = make_snapshot(device)
    assert viewer_api.patch(f"/api/snapshots/{snapshot.pk}", {"keep": True}, format="json").status_code == 403
    snapshot.refresh_from_db()
    assert snapshot.keep is False


def test_keep_is_settable_in_the_admin(client, admin_user, device):
    client.force_login(admin_user)
    snapshot = make_snapshot(device)
    client.post("/admin/snapshots/snapshot/", {"action": "mark_keep", "_selected_action": [str(snapshot.pk)]})
    snapshot.refresh_from_db()
    assert snapshot.keep is True


def test_retention_settings_are_editable_in_the_api(api, device):
    response = api.patch(
        f"/api/devices/{device.pk}", {"retention_days": 30, "retention_max_snapshots": 500}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["retention_days"], response.json()["retention_max_snapshots"]) == (30, 500)


@pytest.mark.parametrize(
    "field, value", [("retention_days", 1_000_000), ("capture_interval_s", 10**9), ("retention_max_snapshots", 10**9)]
)
def test_camera_settings_beyond_their_bounds_are_refused(api, device, field, value):
    response = api.patch(f"/api/devices/{device.pk}", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_huge_retention_stored_before_the_bounds_prunes_without_overflow(device):
    other = Device.objects.create(name="other", rtsp_url="rtsp://127.0.0.1/b", retention_max_snapshots=1)
    for _ in range(2):
        make_snapshot(other)
    Device.objects.filter(pk=device.pk).update(retention_days=1_000_000, capture_interval_s=10**9)
    make_snapshot(device)
    out = StringIO()
    call_command("prune_snapshots", "--dry-run", stdout=out)
    call_command("prune_snapshots", stdout=out)
    assert Snapshot.objects.filter(device=other).count() == 1
    assert Snapshot.objects.filter(device=device).count() == 1


def test_one_camera_failing_to_prune_leaves_the_others_pruned(device, monkeypatch):
    other = Device.objects.create(name="other", rtsp_url="rtsp://127.0.0.1/b", retention_max_snapshots=1)
    for _ in range(2):
        make_snapshot(other)
    real_prune = retention.snapshot_prune_device

    def prune_or_fail(*, device, dry_run=False):
        if device.name == "other":
            return real_prune(device=device, dry_run=dry_run)
        raise OverflowError("date value out of range")

    monkeypatch.setattr(retention, "snapshot_prune_device", prune_or_fail)
    out = StringIO()
    with pytest.raises(CommandError, match="1 camera"):
        call_command("prune_snapshots", stdout=out)
    assert Snapshot.objects.filter(device=other).count() == 1
    assert f"{device.name}: FAILED (OverflowError)" in out.getvalue()


def test_the_scheduler_survives_a_failed_tick(monkeypatch, caplog):
    from snapshots.management.commands import run_scheduler

    def broken_tick():
        raise OverflowError("date value out of range")

    monkeypatch.setattr(run_scheduler, "snapshot_capture_due", broken_tick)
    call_command("run_scheduler", "--once", stdout=StringIO())
    assert "scheduler tick failed" in caplog.text
