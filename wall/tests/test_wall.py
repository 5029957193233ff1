"""The camera wall's pages and tile frames, through Django's test client."""

from pathlib import Path
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.staticfiles import finders

from devices.models import Device
from snapshots.tests.factories import make_snapshot

VIEW = ["view_device", "view_snapshot"]


@pytest.fixture
def cameras(db):
    return {
        "lobby": Device.objects.create(name="Lobby", rtsp_url="rtsp://127.0.0.1:1/a", status="online"),
        "yard": Device.objects.create(name="Yard <b>east</b>", rtsp_url="rtsp://127.0.0.1:1/b", status="offline"),
    }


@pytest.fixture
def viewer(db) -> User:
    user = User.objects.create_user("watcher", password="watcher-pass-123")
    user.user_permissions.set(Permission.objects.filter(codename__in=VIEW))
    return user


@pytest.fixture
def watcher_client(client, viewer):
    client.force_login(viewer)
    return client


def tile_names(response) -> list[str]:
    return [device.name for device in response.context["devices"]]


def test_the_wall_needs_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_the_wall_needs_the_view_permission(client, db):
    client.force_login(User.objects.create_user("nobody"))
    assert client.get("/").status_code == 403


def test_the_wall_shows_every_camera_with_its_status_and_escapes_names(watcher_client, cameras):
    response = watcher_client.get("/")
    assert response.status_code == 200
    assert tile_names(response) == ["Lobby", "Yard <b>east</b>"]
    html = response.content.decode()
    assert "Yard &lt;b&gt;east&lt;/b&gt;" in html
    assert "<b>east</b>" not in html
    assert 'alt="Newest frame of Lobby"' in html
    assert "status-offline" in html


def test_the_wall_filters_by_status_and_name(watcher_client, cameras):
    assert tile_names(watcher_client.get("/?status=online")) == ["Lobby"]
    assert tile_names(watcher_client.get("/?name=yard")) == ["Yard <b>east</b>"]
    assert tile_names(watcher_client.get("/?status=bogus")) == ["Lobby", "Yard <b>east</b>"]
    assert "No camera to show with these filters" in watcher_client.get("/?name=nothing").content.decode()


def test_the_wall_shows_only_the_cameras_of_the_users_groups(watcher_client, viewer, cameras, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    site = Group.objects.create(name="site")
    cameras["lobby"].groups.set([site])
    viewer.groups.set([site])
    assert tile_names(watcher_client.get("/")) == ["Lobby"]
    assert watcher_client.get(f"/cameras/{cameras['yard'].pk}/frame.jpg").status_code == 404


def test_a_tile_frame_is_the_latest_snapshot_tile_sized_and_revalidates_to_a_304(watcher_client, cameras):
    snapshot = make_snapshot(cameras["lobby"], width=1280)
    url = f"/cameras/{cameras['lobby'].pk}/frame.jpg"
    response = watcher_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Camera-Status"] == "online"
    assert abs(float(response["X-Frame-Captured-At"]) - snapshot.captured_at.timestamp()) < 0.001
    assert "no-cache" in response["Cache-Control"]
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(response.content)).width == 640
    again = watcher_client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    newer = make_snapshot(cameras["lobby"])
    changed = watcher_client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert changed.status_code == 200
    assert str(newer.pk) in changed["ETag"]


def test_a_camera_without_any_frame_answers_204(watcher_client, cameras):
    assert watcher_client.get(f"/cameras/{cameras['yard'].pk}/frame.jpg").status_code == 204


def test_the_admins_view_site_link_leads_to_the_wall(admin_client):
    assert admin_client.get("/").status_code == 200


def test_a_tile_shows_the_keepers_live_frame_when_it_holds_the_camera(watcher_client, cameras, camera):
    from capture import live
    from snapshots.tests.servers import read_keyframes

    device = cameras["lobby"]
    make_snapshot(device)  # older than the live frame: not shown while the keeper holds the camera
    (frame,) = read_keyframes(camera.url("cam1"), 1)
    live.live_sessions_refresh(sessions={device.pk: live.LiveSession(keeper="k", keyframe_interval_s=2, since=0)})
    live.live_frame_publish(device_id=device.pk, frame=frame)
    response = watcher_client.get(f"/cameras/{device.pk}/frame.jpg")
    assert response.status_code == 200
    assert response["ETag"].startswith(f'"live-{device.pk}-')
    assert abs(float(response["X-Frame-Captured-At"]) - frame.captured_at) < 0.001
    live.live_sessions_forget(device_ids=[device.pk])
    assert not watcher_client.get(f"/cameras/{device.pk}/frame.jpg")["ETag"].startswith('"live-')


def test_a_tile_of_a_failing_camera_says_why_in_words(watcher_client, cameras):
    Device.objects.filter(pk=cameras["yard"].pk).update(
        last_error="auth_failed: The camera rejected the username or password: authentication failed."
    )
    Device.objects.filter(pk=cameras["lobby"].pk).update(last_error="timeout: The camera did not answer in time.")
    page = watcher_client.get("/").content.decode()
    assert "The camera rejected the username or password: authentication failed." in page
    # A camera that works again shows no old error.
    assert "did not answer in time" not in page
    frame = watcher_client.get(f"/cameras/{cameras['yard'].pk}/frame.jpg")
    assert unquote(frame["X-Camera-Problem"]) == "The camera rejected the username or password: authentication failed."
    assert watcher_client.get(f"/cameras/{cameras['lobby'].pk}/frame.jpg")["X-Camera-Problem"] == ""


def test_every_page_has_an_icon(watcher_client, cameras, client):
    assert 'rel="icon"' in watcher_client.get("/").content.decode()
    # Browsers ask /favicon.ico of every page, the admin's and the login page's too.
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/wall/favicon.svg"
    assert "<svg" in Path(finders.find("wall/favicon.svg")).read_text()
