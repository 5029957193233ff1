"""ONVIF discovery against a real SOAP device service on 127.0.0.1."""

import socket

import pytest

from capture import onvif
from devices.models import Device
from devices.tests.onvif_device import OnvifDevice
from snapshots.tests.servers import GarblingServer

USER, PASSWORD = "onvif", "Onvif-Pass-77"


@pytest.fixture
def onvif_camera():
    camera = OnvifDevice(
        user=USER,
        password=PASSWORD,
        stream_uri="rtsp://127.0.0.1:8554/Streaming/Channels/101",
        snapshot_uri="http://127.0.0.1:8080/ISAPI/Streaming/channels/101/picture",
    )
    yield camera
    camera.close()


def camera_device(onvif_camera: OnvifDevice, **fields) -> Device:
    values = {"name": "door", "rtsp_url": "rtsp://127.0.0.1:554/old", "onvif_port": onvif_camera.port}
    return Device.objects.create(**{**values, "username": USER, "password": PASSWORD, **fields})


@pytest.mark.django_db
def test_discovery_lists_the_profiles_with_their_stream_and_snapshot_urls(api, onvif_camera):
    device = camera_device(onvif_camera)
    response = api.post(f"/api/devices/{device.pk}/discover", {}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [(profile["token"], profile["name"]) for profile in body["profiles"]] == [
        ("main", "mainStream"),
        ("sub", "subStream"),
    ]
    assert body["profiles"][0]["rtsp_url"] == "rtsp://127.0.0.1:8554/Streaming/Channels/101"
    assert body["profiles"][0]["snapshot_url"] == "http://127.0.0.1:8080/ISAPI/Streaming/channels/101/picture"
    assert body["applied"] is None
    device.refresh_from_db()
    assert device.rtsp_url == "rtsp://127.0.0.1:554/old"  # only offered, not applied
    assert "GetSnapshotUri" in onvif_camera.actions


@pytest.mark.django_db
def test_applying_a_profile_fills_both_urls_and_keeps_the_password_on_the_same_host(api, onvif_camera):
    device = camera_device(onvif_camera)
    response = api.post(f"/api/devices/{device.pk}/discover", {"apply": "main"}, format="json")
    assert response.status_code == 200, response.json()
    device.refresh_from_db()
    assert device.rtsp_url == "rtsp://127.0.0.1:8554/Streaming/Channels/101"
    assert device.snapshot_url == "http://127.0.0.1:8080/ISAPI/Streaming/channels/101/picture"
    assert device.password == PASSWORD
    assert device.onvif_profile == "main"  # so captures can ask this profile for keyframes
    assert response.json()["device"]["snapshot_url"] == device.snapshot_url
    assert response.json()["device"]["onvif_profile"] == "main"


@pytest.mark.django_db
def test_credentials_a_camera_puts_in_its_urls_are_left_out(api, onvif_camera):
    onvif_camera.stream_uri = "rtsp://admin:leaked@127.0.0.1:8554/live"
    device = camera_device(onvif_camera)
    body = api.post(f"/api/devices/{device.pk}/discover", {"apply": "sub"}, format="json").json()
    assert body["profiles"][0]["rtsp_url"] == "rtsp://127.0.0.1:8554/live"
    assert "leaked" not in str(body)


@pytest.mark.django_db
def test_a_profile_without_a_still_image_offers_no_snapshot_url(api, onvif_camera):
    onvif_camera.snapshot_uri = ""
    device = camera_device(onvif_camera)
    body = api.post(f"/api/devices/{device.pk}/discover", {}, format="json").json()
    assert [profile["snapshot_url"] for profile in body["profiles"]] == ["", ""]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"password": "Wrong-Guess-1"}, "onvif_auth_failed"),
        ({"onvif_port": None}, "onvif_unreachable"),
    ],
)
def test_a_discovery_that_fails_says_why_and_changes_nothing(api, onvif_camera, caplog, fields, code):
    if fields.get("onvif_port", 0) is None:
        fields = {"onvif_port": closed_port()}
    device = camera_device(onvif_camera, **fields)
    response = api.post(f"/api/devices/{device.pk}/discover", {"apply": "main"}, format="json")
    assert (response.status_code, response.json()["code"]) == (502, code)
    device.refresh_from_db()
    assert device.rtsp_url == "rtsp://127.0.0.1:554/old"
    assert "Wrong-Guess-1" not in response.content.decode() + caplog.text
    assert len([record for record in caplog.records if "ONVIF discovery" in record.getMessage()]) == 1


@pytest.mark.django_db
def test_an_unknown_profile_is_a_400(api, onvif_camera):
    device = camera_device(onvif_camera)
    response = api.post(f"/api/devices/{device.pk}/discover", {"apply": "nope"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "profile_not_found")


@pytest.mark.django_db
def test_discovery_needs_the_change_permission(viewer_api, onvif_camera, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    device = camera_device(onvif_camera)
    assert viewer_api.post(f"/api/devices/{device.pk}/discover", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_a_profile_leading_to_another_host_drops_the_password(api, onvif_camera):
    onvif_camera.stream_uri = "rtsp://198.51.100.9:554/live"  # never connected to: only stored
    onvif_camera.snapshot_uri = ""
    device = camera_device(onvif_camera)
    assert api.post(f"/api/devices/{device.pk}/discover", {"apply": "main"}, format="json").status_code == 200
    device.refresh_from_db()
    assert (device.rtsp_url, device.has_password) == ("rtsp://198.51.100.9:554/live", False)


@pytest.mark.django_db
def test_the_admin_action_fills_the_urls_from_the_first_profile_and_reports_a_failure(admin_client, onvif_camera):
    device = camera_device(onvif_camera)
    failing = camera_device(onvif_camera, name="gate", password="Wrong-Guess-2")
    response = admin_client.post(
        "/admin/devices/device/",
        {"action": "discover_onvif", "_selected_action": [str(device.pk), str(failing.pk)]},
        follow=True,
    )
    page = response.content.decode()
    device.refresh_from_db()
    assert device.rtsp_url == "rtsp://127.0.0.1:8554/Streaming/Channels/101"
    assert "Door: filled from mainStream" in page  # the admin capitalizes its messages
    assert "Gate: The camera&#x27;s ONVIF service refused the username or password." in page


@pytest.mark.django_db
def test_a_camera_offering_a_url_this_server_refuses_changes_nothing(api, onvif_camera):
    onvif_camera.stream_uri = "udp://127.0.0.1:1234/live"
    device = camera_device(onvif_camera)
    response = api.post(f"/api/devices/{device.pk}/discover", {"apply": "main"}, format="json")
    assert (response.status_code, response.json()["code"]) == (502, "profile_unusable")
    device.refresh_from_db()
    assert device.rtsp_url == "rtsp://127.0.0.1:554/old"


@pytest.mark.django_db
def test_a_silent_or_garbled_onvif_service_is_a_timeout_or_a_failure(api, silent_server, settings):
    settings.CAPTURE_TIMEOUT_S = 1
    silent = Device.objects.create(name="silent", rtsp_url="rtsp://127.0.0.1:554/a", onvif_port=silent_server.port)
    response = api.post(f"/api/devices/{silent.pk}/discover", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (502, "onvif_timeout")
    garbler = GarblingServer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot soap!")
    garbled = Device.objects.create(name="garbled", rtsp_url="rtsp://127.0.0.1:554/b", onvif_port=garbler.port)
    response = api.post(f"/api/devices/{garbled.pk}/discover", {}, format="json")
    garbler.close()
    assert (response.status_code, response.json()["code"]) == (502, "onvif_failed")


@pytest.fixture
def fresh_media_services():
    """What earlier tests learnt of cameras on reused ports is forgotten."""
    onvif._media_services.clear()
    yield
    onvif._media_services.clear()


def ask(camera: OnvifDevice, **overrides) -> bool:
    values = {"host": "127.0.0.1", "port": camera.port, "username": USER, "password": PASSWORD}
    return onvif.request_keyframe(**{**values, "profile_token": "main", "timeout_s": 2, **overrides})


def test_a_keyframe_request_is_one_signed_post_once_the_media_service_is_known(onvif_camera, fresh_media_services):
    onvif_camera.profiles.append(("sub<&>", "odd"))
    assert ask(onvif_camera) is True
    assert onvif_camera.actions == ["GetSystemDateAndTime", "GetServices", "SetSynchronizationPoint"]
    assert ask(onvif_camera, profile_token="sub<&>") is True
    assert onvif_camera.actions[3:] == ["SetSynchronizationPoint"]  # what the camera said is kept
    assert onvif_camera.sync_points == ["main", "sub<&>"]  # the token escaped on the way, read back whole


def test_a_camera_whose_clock_is_an_hour_off_still_takes_the_request(fresh_media_services):
    camera = OnvifDevice(user=USER, password=PASSWORD, stream_uri="", snapshot_uri="", clock_offset_s=3600)
    try:
        assert ask(camera) is True
        assert camera.sync_points == ["main"]
    finally:
        camera.close()


def test_the_media_service_is_asked_where_the_device_settings_say_not_where_the_camera_points(
    onvif_camera, fresh_media_services
):
    # A camera behind NAT names an address of its own network: only the path of its answer is used.
    onvif_camera._xaddr = lambda service: f"http://localhost:{closed_port()}/onvif/{service}"
    assert ask(onvif_camera) is True
    assert onvif_camera.sync_points == ["main"]


@pytest.mark.parametrize("problem", ["password", "port", "silent"])
def test_a_refused_or_unanswered_request_is_logged_without_the_password_and_not_raised(
    onvif_camera, fresh_media_services, silent_server, caplog, problem
):
    overrides = {
        "password": {"password": "Wrong-Guess-3"},
        "port": {"port": closed_port()},
        "silent": {"port": silent_server.port, "timeout_s": 0.5},
    }[problem]
    assert ask(onvif_camera, **overrides) is False
    assert onvif_camera.sync_points == []
    assert "ONVIF keyframe request" in caplog.text
    assert "Wrong-Guess-3" not in caplog.text and PASSWORD not in caplog.text
    assert ask(onvif_camera) is True  # nothing wrong is kept for next time


@pytest.mark.parametrize("fault_status", [400, 500, 200])
def test_a_fault_is_a_refusal_whatever_its_status_and_the_camera_is_asked_afresh_next_time(
    onvif_camera, fresh_media_services, fault_status
):
    onvif_camera.fault_status = fault_status
    assert ask(onvif_camera) is True
    assert ask(onvif_camera, profile_token="gone") is False  # the camera's fault: no such profile
    assert ask(onvif_camera) is True
    # After the refusal, where the media service is and the camera's clock were asked again.
    assert onvif_camera.actions.count("GetServices") == 2
    assert onvif_camera.sync_points == ["main", "main"]


@pytest.mark.django_db
def test_a_token_too_long_for_the_field_is_not_kept_and_the_urls_still_are(admin_client, onvif_camera):
    # The admin action applies the first profile, whatever its token (the API's "apply" takes up to 64).
    onvif_camera.profiles = [("t" * 65, "long")]
    device = camera_device(onvif_camera)
    response = admin_client.post(
        "/admin/devices/device/", {"action": "discover_onvif", "_selected_action": [str(device.pk)]}, follow=True
    )
    assert response.status_code == 200
    device.refresh_from_db()
    assert (device.rtsp_url, device.onvif_profile) == ("rtsp://127.0.0.1:8554/Streaming/Channels/101", "")
