"""A camera's page (its newest frame and its snapshots by day) and the snapshot viewer."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from devices.models import Device
from snapshots.tests.factories import make_snapshot
from wall.selectors import TIMELINE_PAGE_SIZE


def at(day: int, hour: int) -> datetime:
    return timezone.make_aware(datetime(2026, 11, day, hour, 0, 0))


@pytest.fixture
def camera(db):
    return Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1:1/gate")


@pytest.fixture
def days(camera):
    """Snapshots on the 20th (two) and the 22nd (three), none on the 21st."""
    return {
        20: [make_snapshot(camera, captured_at=at(20, hour)) for hour in (8, 9)],
        22: [make_snapshot(camera, captured_at=at(22, hour)) for hour in (7, 8, 9)],
    }


def watcher(client, *codenames: str):
    user = User.objects.create_user("watcher")
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_device", "view_snapshot", *codenames]))
    client.force_login(user)
    return client


def shown(response) -> list:
    return [row["pk"] for row in response.context["timeline"].rows]


def test_the_page_opens_on_the_newest_day_newest_first_with_links_to_the_other_days(admin_client, camera, days):
    response = admin_client.get(f"/cameras/{camera.pk}/")
    assert response.status_code == 200
    assert shown(response) == [snapshot.pk for snapshot in reversed(days[22])]
    html = response.content.decode()
    assert 'href="?day=2026-11-20"' in html  # the older day with snapshots, past the empty 21st
    assert 'loading="lazy"' in html
    assert f'alt="Gate at {timezone.localtime(days[22][-1].captured_at):%Y-%m-%d %H:%M:%S}"' in html


def test_a_day_can_be_picked_and_a_bad_one_falls_back_to_the_newest(admin_client, camera, days):
    response = admin_client.get(f"/cameras/{camera.pk}/?day=2026-11-20")
    assert shown(response) == [snapshot.pk for snapshot in reversed(days[20])]
    assert 'href="?day=2026-11-22"' in response.content.decode()
    assert shown(admin_client.get(f"/cameras/{camera.pk}/?day=2026-11-21")) == []
    assert shown(admin_client.get(f"/cameras/{camera.pk}/?day=yesterday")) == shown(
        admin_client.get(f"/cameras/{camera.pk}/")
    )


def test_a_busy_day_is_paged(admin_client, camera):
    start = at(23, 0)
    for second in range(TIMELINE_PAGE_SIZE + 2):
        make_snapshot(camera, captured_at=start + timedelta(seconds=second))
    first = admin_client.get(f"/cameras/{camera.pk}/?day=2026-11-23")
    assert len(shown(first)) == TIMELINE_PAGE_SIZE
    assert "page=2" in first.content.decode()
    second = admin_client.get(f"/cameras/{camera.pk}/?day=2026-11-23&page=2")
    assert len(shown(second)) == 2


def test_capture_now_is_offered_only_to_users_who_may_capture(client, camera, days):
    assert "Capture now" not in watcher(client).get(f"/cameras/{camera.pk}/").content.decode()
    client.logout()
    User.objects.filter(username="watcher").delete()
    assert "Capture now" in watcher(client, "add_snapshot").get(f"/cameras/{camera.pk}/").content.decode()


def test_the_viewer_links_newer_older_and_the_download(admin_client, camera, days):
    middle = days[22][1]
    response = admin_client.get(f"/cameras/{camera.pk}/snapshots/{middle.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/cameras/{camera.pk}/snapshots/{days[22][2].pk}/" in html  # newer
    assert f"/cameras/{camera.pk}/snapshots/{days[22][0].pk}/" in html  # older
    assert f'download="gate-{timezone.localtime(middle.captured_at):%Y%m%d-%H%M%S}.jpg"' in html
    assert 'id="keep"' in html
    oldest = admin_client.get(f"/cameras/{camera.pk}/snapshots/{days[20][0].pk}/").content.decode()
    assert 'id="older"' not in oldest
    assert 'id="newer"' in oldest


def test_keep_is_offered_only_to_users_who_may_change_snapshots(client, camera, days):
    assert 'id="keep"' not in watcher(client).get(f"/cameras/{camera.pk}/snapshots/{days[20][0].pk}/").content.decode()


def test_a_snapshot_of_another_camera_or_a_hidden_camera_is_404(admin_client, client, camera, days, settings):
    other = Device.objects.create(name="Other", rtsp_url="rtsp://127.0.0.1:1/other")
    assert admin_client.get(f"/cameras/{other.pk}/snapshots/{days[20][0].pk}/").status_code == 404
    settings.CAMERAS_VISIBLE_TO_ALL = False
    viewer = watcher(client)
    assert viewer.get(f"/cameras/{camera.pk}/").status_code == 404
    assert viewer.get(f"/cameras/{camera.pk}/snapshots/{days[20][0].pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)  # the capture runs in a thread of its own
def test_the_admin_change_page_captures_now_and_links_to_the_camera_page(admin_client, camera):
    page = admin_client.get(f"/admin/devices/device/{camera.pk}/change/").content.decode()
    assert f'action="/admin/devices/device/{camera.pk}/capture/"' in page
    view_on_site = re.search(r'href="(/admin/r/[^"]+)" class="viewsitelink"', page).group(1)
    assert admin_client.get(view_on_site)["Location"].endswith(f"/cameras/{camera.pk}/")
    assert admin_client.get(f"/admin/devices/device/{camera.pk}/capture/").status_code == 403
    response = admin_client.post(f"/admin/devices/device/{camera.pk}/capture/", follow=True)
    assert response.redirect_chain[-1][0] == f"/admin/devices/device/{camera.pk}/change/"
    assert "Gate: The camera cannot be reached" in response.content.decode()
    assert f'href="/cameras/{camera.pk}/"' in admin_client.get("/admin/devices/device/").content.decode()


def test_no_page_shows_a_camera_password(admin_client, db):
    secret = "cam-Secret-in-no-page-42"
    device = Device.objects.create(name="Vault", rtsp_url="rtsp://127.0.0.1:1/vault", username="u", password=secret)
    snapshot = make_snapshot(device)
    for path in ("/", f"/cameras/{device.pk}/", f"/cameras/{device.pk}/snapshots/{snapshot.pk}/"):
        response = admin_client.get(path)
        assert response.status_code == 200
        assert secret not in response.content.decode()


def test_the_pages_post_nothing_without_a_csrf_token(client, camera, days):
    # Capture and keep go through the API with the session: without the page's token, refused.
    user = User.objects.create_superuser("csrf", password="csrf-pass-123")
    client.force_login(user)
    client.handler.enforce_csrf_checks = True
    response = client.post(f"/api/snapshots/capture/{camera.pk}")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert "CSRF" in response.json()["detail"]
