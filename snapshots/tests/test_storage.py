"""Byte quotas (oldest first, kept snapshots spared) and storage usage per camera and in all."""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import bearer_client
from devices.models import Device, DeviceStorage
from devices.services import device_storage_recount
from snapshots.models import Snapshot
from snapshots.retention import snapshot_prune, snapshot_prune_device, snapshots_delete
from snapshots.services import snapshot_capture
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


def stored(api, device: Device) -> tuple[int, int]:
    figures = api.get(f"/api/devices/{device.pk}").json()["storage"]
    return figures["bytes"], figures["snapshots"]


def counted(device: Device) -> tuple[int, int]:
    return sum(device.snapshots.values_list("file_size", flat=True)), device.snapshots.count()


@pytest.mark.django_db
def test_the_storage_figures_follow_captures_deletes_and_prunes(api, admin_client, camera):
    device = Device.objects.create(name="real", rtsp_url=camera.url("fast"))
    for _ in range(3):
        assert api.post(f"/api/snapshots/capture/{device.pk}").status_code == 201
    assert stored(api, device) == counted(device)
    assert stored(api, device)[1] == 3
    first, second, third = device.snapshots.order_by("captured_at")
    assert api.delete(f"/api/snapshots/{first.pk}").status_code == 204
    assert stored(api, device) == counted(device)
    admin_client.post(f"/admin/snapshots/snapshot/{second.pk}/delete/", {"post": "yes"})
    assert stored(api, device) == counted(device) == (third.file_size, 1)
    make_snapshot(device, captured_at=timezone.now() - timedelta(days=30))
    admin_client.post(
        "/admin/snapshots/snapshot/", {"action": "delete_selected", "_selected_action": [third.pk], "post": "yes"}
    )
    assert stored(api, device) == counted(device)
    assert stored(api, device)[1] == 1
    device.retention_days = 7
    device.save()
    assert snapshot_prune_device(device=device) == 1
    assert stored(api, device) == (0, 0)


@pytest.mark.django_db
def test_the_camera_list_reads_its_totals_instead_of_summing_snapshots(api, device):
    six_snapshots(device)
    with CaptureQueriesContext(connection) as queries:
        listed = api.get("/api/devices/").json()["results"]
    assert listed[0]["storage"]["snapshots"] == 6
    assert not any("SUM(" in query["sql"].upper() for query in queries)


@pytest.mark.django_db
def test_a_prune_recounts_what_was_written_around_the_services(api, device):
    six_snapshots(device)
    # Rows written without the services (a bulk import, a shell): the totals do not see them ...
    Snapshot.objects.bulk_create(
        [Snapshot(device=device, image=b"x", thumbnail=b"x", width=1, height=1, file_size=1000) for _ in range(4)]
    )
    Snapshot.objects.filter(pk=device.snapshots.earliest("captured_at").pk).delete()
    assert stored(api, device)[1] == 6
    # ... until the next prune, which deletes nothing here.
    assert snapshot_prune_device(device=device) == 0
    assert stored(api, device) == counted(device)
    assert stored(api, device)[1] == 9


@pytest.mark.django_db
def test_deleting_a_deleted_snapshot_takes_nothing_off_the_totals(api, device):
    rows = six_snapshots(device)
    assert snapshots_delete(snapshots=Snapshot.objects.filter(pk=rows[0].pk)) == 1
    assert snapshots_delete(snapshots=Snapshot.objects.filter(pk=rows[0].pk)) == 0
    assert stored(api, device) == counted(device)
    assert stored(api, device)[1] == 5


@pytest.mark.django_db
def test_a_camera_without_totals_is_counted_afresh_on_its_next_capture(api, device):
    six_snapshots(device)
    DeviceStorage.objects.filter(device=device).delete()  # as before the totals existed
    assert stored(api, device) == (0, 0)
    make_snapshot(device)
    assert stored(api, device) == counted(device)
    assert stored(api, device)[1] == 7


@pytest.mark.django_db(transaction=True)
def test_the_totals_stay_exact_under_concurrent_captures_deletes_and_recounts(camera):
    """Captures of two cameras, deletes of what they store and recounts, all at once: the totals
    end where a count of the rows puts them."""
    cameras = [Device.objects.create(name=f"busy {n}", rtsp_url=camera.url(f"cam{n}"), live=False) for n in (4, 5)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_going(work) -> None:
        try:
            while not stop.is_set():
                work()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    def capture() -> None:
        for device in cameras:
            snapshot_capture(device=device, trigger=Snapshot.Trigger.API, force=True)

    def delete() -> None:
        snapshots_delete(snapshots=Snapshot.objects.order_by("captured_at")[:1])
        time.sleep(0.05)

    def recount() -> None:
        for device in cameras:
            device_storage_recount(device_id=device.pk)
        time.sleep(0.05)

    workers = [threading.Thread(target=keep_going, args=(work,)) for work in (capture, capture, delete, recount)]
    for worker in workers:
        worker.start()
    time.sleep(4)
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors, errors
    assert Snapshot.objects.exists()
    for device in cameras:
        totals = DeviceStorage.objects.get(device=device)
        assert (totals.bytes, totals.snapshots) == counted(device)
