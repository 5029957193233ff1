"""The staff status page: every camera worst first, the background processes' heartbeats."""

import os

import pytest
from django.core.management import call_command

from capture.errors import CaptureError
from conftest import SCREENSHOTS
from devices.models import Device
from snapshots.models import Snapshot
from snapshots.services import snapshot_capture
from wall.tests.test_browser import log_in

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def healthy_and_failing(camera, refused_url) -> tuple[Device, Device]:
    healthy = Device.objects.create(name="Healthy gate", rtsp_url=camera.url("fast"), live=False)
    failing = Device.objects.create(name="Broken yard", rtsp_url=refused_url, live=False)
    snapshot_capture(device=healthy, trigger=Snapshot.Trigger.API)
    for _ in range(2):
        with pytest.raises(CaptureError):
            snapshot_capture(device=failing, trigger=Snapshot.Trigger.API, force=True)
    return healthy, failing


@pytest.mark.django_db(transaction=True)
def test_the_status_page_shows_the_failing_camera_first(browser, live_server, camera, refused_url, admin_user):
    healthy, failing = healthy_and_failing(camera, refused_url)
    call_command("run_scheduler", "--once")
    context = browser.new_context(viewport={"width": 1400, "height": 700})
    page = context.new_page()
    log_in(page, live_server.url, username="admin", password="admin-pass-123", path="/status/")
    rows = page.locator("table.cameras tbody tr")
    assert rows.count() == 2
    first, second = rows.nth(0), rows.nth(1)
    assert first.get_attribute("data-device") == str(failing.pk)
    assert first.locator(".badge").text_content() == "offline"
    assert "refused" in first.locator(".last-error").text_content().lower()
    assert first.locator("td").nth(4).text_content() == "2"  # failures in the last hour
    assert second.get_attribute("data-device") == str(healthy.pk)
    assert second.locator(".badge").text_content() == "ok"
    assert second.locator("td").nth(3).text_content() == "1"  # captures in the last hour
    assert "KB" in second.locator("td").nth(5).text_content()
    scheduler = page.locator("table.components tbody tr", has_text="scheduler")
    assert scheduler.locator(".badge").text_content() == "ok"
    keeper = page.locator("table.components tbody tr", has_text="keeper")
    assert keeper.locator(".badge").text_content() == "not running"
    page.screenshot(path=str(SCREENSHOTS / "status.png"), full_page=True)
    context.close()


@pytest.mark.django_db
def test_only_staff_see_the_status_page(client, viewer_user, admin_user):
    client.force_login(viewer_user)
    assert client.get("/status/").status_code == 302
    client.force_login(admin_user)
    assert client.get("/status/").status_code == 200


@pytest.mark.django_db
def test_a_live_camera_without_a_keeper_is_stale_and_the_keeper_down(client, admin_user):
    Device.objects.create(name="Live without keeper", rtsp_url="rtsp://127.0.0.1:1/x", live=True)
    client.force_login(admin_user)
    page = client.get("/status/").content.decode()
    assert '<span class="badge">stale</span>' in page
    assert '<span class="badge">down</span>' in page
