from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import Device
from snapshots.tests.factories import make_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client, admin_user):
    client.force_login(admin_user)
    return client


def reads_image_bytes(queries) -> bool:
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    return '"snapshots_snapshot"."image"' in sql or '"snapshots_snapshot"."thumbnail"' in sql


def test_list_of_100_snapshots_reads_no_image_bytes(admin_client_logged_in, device):
    for _ in range(100):
        make_snapshot(device)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_logged_in.get("/admin/snapshots/snapshot/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('loading="lazy"') == 100
    assert "base64" not in html
    assert not reads_image_bytes(queries)


def test_list_thumbnails_come_from_the_thumbnail_route(admin_client_logged_in, device):
    snapshot = make_snapshot(device)
    html = admin_client_logged_in.get("/admin/snapshots/snapshot/").content.decode()
    assert f'src="/api/snapshots/{snapshot.pk}/thumbnail.jpg"' in html


def test_snapshot_page_is_read_only_with_full_image_and_download(admin_client_logged_in, device):
    snapshot = make_snapshot(device)
    response = admin_client_logged_in.get(f"/admin/snapshots/snapshot/{snapshot.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'src="/api/snapshots/{snapshot.pk}/image.jpg"' in html
    assert "Download JPEG" in html
    assert 'name="_save"' not in html


def test_no_add_form(admin_client_logged_in):
    assert admin_client_logged_in.get("/admin/snapshots/snapshot/add/").status_code == 403


def test_bulk_delete(admin_client_logged_in, device):
    snapshots = [make_snapshot(device) for _ in range(3)]
    admin_client_logged_in.post(
        "/admin/snapshots/snapshot/",
        {"action": "delete_selected", "_selected_action": [str(s.pk) for s in snapshots[:2]], "post": "yes"},
    )
    assert list(device.snapshots.values_list("pk", flat=True)) == [snapshots[2].pk]


def test_device_list_shows_latest_thumbnail_and_count_without_n_plus_one(admin_client_logged_in, device):
    make_snapshot(device)
    latest = make_snapshot(device)
    with CaptureQueriesContext(connection) as few:
        html = admin_client_logged_in.get("/admin/devices/device/").content.decode()
    assert f'src="/api/snapshots/{latest.pk}/thumbnail.jpg"' in html
    assert "in 2 snapshot(s)</td>" in html
    assert "#757575" in html  # the unknown status colour
    assert not reads_image_bytes(few)
    for number in range(3):
        make_snapshot(Device.objects.create(name=f"more{number}", rtsp_url=f"rtsp://127.0.0.1/{number}"))
    with CaptureQueriesContext(connection) as many:
        admin_client_logged_in.get("/admin/devices/device/")
    assert len(many) == len(few)


def test_device_page_shows_its_newest_snapshots(admin_client_logged_in, device):
    now = timezone.now()
    oldest, *newest = [make_snapshot(device, captured_at=now - timedelta(minutes=m)) for m in range(13, 0, -1)]
    html = admin_client_logged_in.get(f"/admin/devices/device/{device.pk}/change/").content.decode()
    for snapshot in newest:
        assert f"/api/snapshots/{snapshot.pk}/thumbnail.jpg" in html
    assert f"/api/snapshots/{oldest.pk}/thumbnail.jpg" not in html
    assert f"?device__id__exact={device.pk}" in html
