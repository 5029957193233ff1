"""Byte quotas (oldest first, kept snapshots spared) and storage usage per camera and in all."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import bearer_client
from devices.models import Device
from snapshots.models import Snapshot
from snapshots.services import snapshot_prune, snapshot_prune_device
from snapshots.tests.factories import make_snapshot


def six_snapshots(device: Device) -> list[Snapshot]:
    """Six snapshots of one size, an hour apart, oldest first."""
    now = timezone.now()
    return [make_snapshot(device, captured_at=now - timedelta(hours=6 - n)) for n in range(6)]


@pytest.mark.django_db
def test_the_byte_quota_removes_the_oldest_first_and_counts_but_spares_kept_ones(device):
    rows = six_snapshots(device)
    size = rows[0].file_size
    Snapshot.objects.filter(pk=rows[0].pk).update(keep=True)
    device.retention_max_bytes = 3 * size  # the kept one and the two newest fit
    device.save()
    assert snapshot_prune_device(device=device, dry_run=True) == 3
    assert snapshot_prune_device(device=device) == 3
    left = set(Snapshot.objects.values_list("pk", flat=True))
    assert left == {rows[0].pk, rows[4].pk, rows[5].pk}
    assert snapshot_prune_device(device=device) == 0


@pytest.mark.django_db
def test_the_global_byte_quota_applies_unless_the_camera_sets_its_own(device, settings):
    other = Device.objects.create(name="unlimited", rtsp_url="rtsp://127.0.0.1:1/other", retention_max_bytes=0)
    rows = six_snapshots(device)
    six_snapshots(other)
    settings.RETENTION_MAX_BYTES = rows[0].file_size * 2 + 1
    deleted = {result.device.name: result.deleted for result in snapshot_prune()}
    assert deleted == {"Lobby": 4, "unlimited": 0}
    assert set(device.snapshots.values_list("pk", flat=True)) == {rows[4].pk, rows[5].pk}


@pytest.mark.django_db
def test_a_camera_under_its_quota_loses_nothing(device):
    rows = six_snapshots(device)
    device.retention_max_bytes = sum(row.file_size for row in rows)
    device.save()
    assert snapshot_prune_device(device=device) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("value", [-1, 1024**5 + 1, "lots"])
def test_a_bad_byte_quota_is_a_400(api, device, value):
    response = api.patch(f"/api/devices/{device.pk}", {"retention_max_bytes": value}, format="json")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["retention_max_bytes"])


@pytest.mark.django_db
def test_each_camera_shows_what_it_stores_without_reading_an_image(api, device):
    rows = six_snapshots(device)
    empty = Device.objects.create(name="empty", rtsp_url="rtsp://127.0.0.1:1/empty")
    with CaptureQueriesContext(connection) as queries:
        listed = {row["name"]: row["storage"] for row in api.get("/api/devices/").json()["results"]}
    assert not any('"image"' in query["sql"] or '"thumbnail"' in query["sql"] for query in queries)
    assert listed["Lobby"]["bytes"] == sum(row.file_size for row in rows)
    assert listed["Lobby"]["snapshots"] == 6
    assert listed["empty"] == {"bytes": 0, "snapshots": 0, "oldest": None, "newest": None}
    detail = api.get(f"/api/devices/{device.pk}").json()["storage"]
    assert detail["oldest"] == rows[0].captured_at.isoformat().replace("+00:00", "Z")
    assert detail["newest"] == rows[-1].captured_at.isoformat().replace("+00:00", "Z")
    created = api.post("/api/devices/", {"name": "new", "rtsp_url": "rtsp://127.0.0.1:1/new"}, format="json")
    assert created.json()["storage"]["snapshots"] == 0
    assert api.get(f"/api/devices/{empty.pk}").json()["storage"]["bytes"] == 0


@pytest.mark.django_db
def test_the_storage_summary_counts_only_the_cameras_the_user_sees(api, viewer_api, viewer_user, device, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    seen = six_snapshots(device)
    hidden = Device.objects.create(name="hidden", rtsp_url="rtsp://127.0.0.1:1/hidden")
    six_snapshots(hidden)
    group = Group.objects.create(name="lobby watchers")
    device.groups.add(group)
    viewer_user.groups.add(group)
    mine = viewer_api.get("/api/storage").json()
    assert mine["bytes"] == sum(row.file_size for row in seen)
    assert (mine["snapshots"], mine["cameras"]) == (6, 1)
    everything = api.get("/api/storage").json()
    assert (everything["snapshots"], everything["cameras"]) == (12, 2)


@pytest.mark.django_db
def test_the_storage_summary_needs_the_view_permission(anonymous_api, db):
    nobody = bearer_client(User.objects.create_user("nobody", password="nobody-pass-123"))
    assert nobody.get("/api/storage").status_code == 403
    assert anonymous_api.get("/api/storage").status_code == 401


@pytest.mark.django_db
def test_the_admin_list_shows_what_each_camera_stores(admin_client, device):
    six_snapshots(device)
    page = admin_client.get("/admin/devices/device/").content.decode()
    assert "in 6 snapshot(s)" in page
