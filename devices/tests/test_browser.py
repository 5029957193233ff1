"""The admin in a real browser: Debian's Chromium driven by Playwright, against a live server."""

import os

import pytest
from playwright.sync_api import Page

from conftest import SCREENSHOTS
from devices.models import Device
from snapshots.models import Snapshot

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(browser, live_server, admin_user) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    yield page
    context.close()


def image_loaded(page: Page, selector: str) -> bool:
    page.wait_for_function(
        f"() => {{ const img = document.querySelector('{selector}'); return img && img.complete; }}", timeout=10_000
    )
    return page.eval_on_selector(selector, "img => img.naturalWidth > 0")


@pytest.mark.django_db(transaction=True)
def test_operator_captures_views_and_deletes_a_snapshot(page, live_server, camera):
    SCREENSHOTS.mkdir(exist_ok=True)
    device = Device.objects.create(name="Browser camera", rtsp_url=camera.url("h264"))

    page.goto(f"{live_server.url}/admin/devices/device/")
    page.check(f"input[name=_selected_action][value='{device.pk}']")
    page.select_option("select[name=action]", "capture_now")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist li.success")
    assert "Browser camera: captured (1920x1080" in page.inner_text("ul.messagelist")
    assert image_loaded(page, "img.vas-thumbnail")
    page.screenshot(path=str(SCREENSHOTS / "device-list.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/devices/device/{device.pk}/change/")
    assert image_loaded(page, "img.vas-thumbnail")
    page.screenshot(path=str(SCREENSHOTS / "device-page.png"), full_page=True)

    snapshot = Snapshot.objects.get(device=device)
    page.goto(f"{live_server.url}/admin/snapshots/snapshot/{snapshot.pk}/change/")
    assert image_loaded(page, "img.vas-full-image")
    assert page.eval_on_selector("img.vas-full-image", "img => img.naturalWidth") == 1920
    page.screenshot(path=str(SCREENSHOTS / "snapshot-page.png"), full_page=True)

    page.click("a.deletelink")
    page.click("input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    assert not Snapshot.objects.filter(pk=snapshot.pk).exists()
