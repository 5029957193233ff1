"""The camera wall in a real browser: Debian's Chromium driven by Playwright, against a live server."""

import os

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from playwright.sync_api import Page

import wall.views
from conftest import SCREENSHOTS
from devices.models import Device
from snapshots.tests.factories import make_snapshot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CAMERAS = 8


@pytest.fixture
def wall_cameras(transactional_db):
    site = Group.objects.create(name="site")
    cameras = []
    for number in range(CAMERAS):
        camera = Device.objects.create(name=f"Camera {number + 1}", rtsp_url=f"rtsp://127.0.0.1:1/{number}")
        camera.groups.set([site])
        make_snapshot(camera, width=1280)
        cameras.append(camera)
    Device.objects.filter(pk=cameras[-1].pk).update(status=Device.Status.OFFLINE)
    hidden = Device.objects.create(name="Other site", rtsp_url="rtsp://127.0.0.1:1/other")
    make_snapshot(hidden)
    watcher = User.objects.create_user("watcher", password="watcher-pass-123")
    watcher.user_permissions.set(Permission.objects.filter(codename__in=["view_device", "view_snapshot"]))
    watcher.groups.set([site])
    return cameras


def answered(statuses: list[int]):
    """get_conditional_response, noting each tile answer's status: 304, or 200 for a frame sent."""
    real = wall.views.get_conditional_response

    def spy(request, **kwargs):
        response = real(request, **kwargs)
        statuses.append(304 if response is not None and response.status_code == 304 else 200)
        return response

    return spy


def log_in(
    page: Page, base: str, *, username: str = "watcher", password: str = "watcher-pass-123", path: str = "/"
) -> None:
    """Open path, log in on the login page it sends an anonymous visitor to, and land on path."""
    page.goto(f"{base}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")


def all_frames_shown(page: Page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile img')].every(img => !img.hidden && img.complete"
        " && img.naturalWidth > 0)",
        timeout=10_000,
    )


@pytest.mark.parametrize(
    ("viewport", "label"), [({"width": 1400, "height": 900}, "desktop"), ({"width": 390, "height": 844}, "phone")]
)
def test_the_wall_shows_every_visible_camera_and_refreshes_with_304s(
    browser, live_server, wall_cameras, settings, monkeypatch, viewport, label
):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    settings.WALL_REFRESH_S = 2
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    statuses: list[int] = []
    # What the server answered (the browser reports a revalidated frame as its cached 200).
    monkeypatch.setattr(wall.views, "get_conditional_response", answered(statuses))
    log_in(page, live_server.url)
    all_frames_shown(page)
    names = page.locator(".tile .name").all_text_contents()
    assert names == [f"Camera {number + 1}" for number in range(CAMERAS)]  # not "Other site"
    assert page.locator(".no-frame:visible").count() == 0  # no "Loading…" over a frame
    assert page.locator(".status-offline img").count() == 1
    page.wait_for_function("() => document.querySelector('.tile .age').textContent.endsWith('ago')")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"wall-{label}.png"), full_page=True)
    # One refresh round: one request per camera, each a 304 (no frame changed).
    first_round = len(statuses)
    assert first_round == CAMERAS
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/frame.jpg')).length"
        f" >= {2 * CAMERAS}",
        timeout=10_000,
    )
    page.wait_for_timeout(300)
    assert statuses[first_round : first_round + CAMERAS] == [304] * CAMERAS
    # A new frame of one camera replaces its tile at the next round.
    before = page.eval_on_selector(".tile img", "img => img.src")
    make_snapshot(wall_cameras[0], width=1280)
    page.wait_for_function(f"() => document.querySelector('.tile img').src !== {before!r}", timeout=10_000)
    context.close()


@pytest.mark.django_db(transaction=True)
def test_capture_from_the_camera_page_then_browse_and_keep_in_the_viewer(browser, live_server, camera, admin_user):
    device = Device.objects.create(name="Browser gate", rtsp_url=camera.url("cam0"), live=False)
    older = make_snapshot(device)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url, username="admin", password="admin-pass-123", path=f"/cameras/{device.pk}/")
    assert page.locator("#thumbs li").count() == 1
    page.click("#capture")
    page.wait_for_function("() => document.querySelectorAll('#thumbs li').length === 2", timeout=20_000)
    assert page.text_content("#capture-result") == "Captured."
    newest = device.snapshots.order_by("-captured_at").first()
    assert page.text_content("#thumbs li span") == f"{timezone.localtime(newest.captured_at):%H:%M:%S}"
    # The large frame shows the new snapshot at once, not at the next refresh round.
    page.wait_for_function(
        f"() => document.querySelector('.tile.large').dataset.etag === '\"{newest.pk}-wall-' + "
        "document.querySelector('.tile.large').dataset.status + '\"'",
        timeout=5_000,
    )
    page.wait_for_function(
        "() => { const img = document.querySelector('#thumbs li img'); return img.complete && img.naturalWidth > 0; }"
    )
    page.screenshot(path=str(SCREENSHOTS / "camera-page.png"), full_page=True)
    # The new thumbnail opens the viewer; the right arrow goes to the older snapshot and back.
    page.click("#thumbs li a")
    page.wait_for_url(f"{live_server.url}/cameras/{device.pk}/snapshots/{newest.pk}/")
    page.wait_for_function(
        "() => { const img = document.querySelector('.viewer img'); return img.complete && img.naturalWidth > 0; }"
    )
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"{live_server.url}/cameras/{device.pk}/snapshots/{older.pk}/")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"{live_server.url}/cameras/{device.pk}/snapshots/{newest.pk}/")
    page.check("#keep")
    page.wait_for_function("() => document.getElementById('keep-result').textContent === 'Kept.'")
    newest.refresh_from_db()
    assert newest.keep is True
    page.screenshot(path=str(SCREENSHOTS / "viewer.png"), full_page=True)
    context.close()
