"""A stored camera password goes only to the endpoints it was entered with: the scheme, host and
port of the RTSP URL, of the snapshot URL, and of the ONVIF address (onvif_host, or the RTSP
URL's host, with onvif_port; ONVIF is http). A change that sends it anywhere else clears it,
unless the same request sets the password again. Through the API (PATCH, PUT), discovery
(device_apply_profile, the API's discover, the admin's action) and a real ONVIF service."""

import base64
import hashlib

import pytest

from capture import onvif
from devices.models import Device
from devices.services import device_apply_profile, device_update
from devices.tests.onvif_device import OnvifDevice, _field

pytestmark = pytest.mark.django_db

PASSWORD = "Entered-Here-42"
# Its endpoints: (rtsp, 127.0.0.1, 8554), (http, 127.0.0.1, 8080) and the ONVIF (http, 127.0.0.1, 8000).
CAMERA = {
    "name": "Gate",
    "rtsp_url": "rtsp://127.0.0.1:8554/a",
    "snapshot_url": "http://127.0.0.1:8080/picture",
    "onvif_port": 8000,
}


def camera(**fields) -> Device:
    return Device.objects.create(**{**CAMERA, "username": "cam", "password": PASSWORD, **fields})


def stored_password(device: Device) -> str:
    return Device.objects.get(pk=device.pk).password


KEPT, CLEARED = True, False

PATCHES = [
    # Nothing the password is sent to moves.
    ({}, {"name": "Renamed"}, KEPT),
    ({}, {"username": "other"}, KEPT),
    ({}, {"rtsp_url": "rtsp://127.0.0.1:8554/other-path"}, KEPT),
    ({}, {"rtsp_url": "RTSP://127.0.0.1:8554/a"}, KEPT),
    ({}, {"snapshot_url": "http://127.0.0.1:8080/other-path"}, KEPT),
    ({}, {"snapshot_url": ""}, KEPT),  # one endpoint fewer
    ({}, {"onvif_host": "127.0.0.1"}, KEPT),  # the RTSP URL's host, written out
    ({}, {"onvif_host": "127.0.0.1", "onvif_port": 8000}, KEPT),
    # The RTSP URL: host, port, scheme.
    ({}, {"rtsp_url": "rtsp://localhost:8554/a"}, CLEARED),
    ({}, {"rtsp_url": "rtsp://127.0.0.1:9554/a"}, CLEARED),
    ({}, {"rtsp_url": "rtsp://127.0.0.1/a"}, CLEARED),  # the default port, 554
    ({}, {"rtsp_url": "rtsps://127.0.0.1:8554/a"}, CLEARED),
    ({"rtsp_url": "rtsps://127.0.0.1/a"}, {"rtsp_url": "rtsp://127.0.0.1:322/a"}, CLEARED),  # down to clear text
    # The snapshot URL changed: host, port, scheme.
    ({}, {"snapshot_url": "http://localhost:8080/picture"}, CLEARED),
    ({}, {"snapshot_url": "http://127.0.0.1:8081/picture"}, CLEARED),  # another port of the camera's host
    ({}, {"snapshot_url": "https://127.0.0.1:8080/picture"}, CLEARED),
    ({"snapshot_url": "https://127.0.0.1/picture"}, {"snapshot_url": "http://127.0.0.1:443/picture"}, CLEARED),
    # The snapshot URL newly set: only at an endpoint the password already goes to.
    ({"snapshot_url": ""}, {"snapshot_url": "http://127.0.0.1:8081/picture"}, CLEARED),
    ({"snapshot_url": ""}, {"snapshot_url": "http://127.0.0.1/picture"}, CLEARED),  # port 80: not the ONVIF port
    ({"snapshot_url": ""}, {"snapshot_url": "http://127.0.0.1:8000/picture"}, KEPT),  # the ONVIF service's
    ({"snapshot_url": "", "onvif_port": 80}, {"snapshot_url": "http://127.0.0.1/picture"}, KEPT),
    ({"snapshot_url": ""}, {"snapshot_url": "http://10.0.0.9/picture"}, CLEARED),
    # The ONVIF address: onvif_host, onvif_port.
    ({}, {"onvif_host": "198.51.100.7"}, CLEARED),
    ({}, {"onvif_host": "localhost"}, CLEARED),
    ({}, {"onvif_port": 8001}, CLEARED),
    ({}, {"onvif_port": 80}, CLEARED),
    ({"onvif_host": "10.0.0.5"}, {"onvif_host": "10.0.0.6"}, CLEARED),
    ({"onvif_host": "10.0.0.5"}, {"onvif_host": ""}, CLEARED),  # back to the RTSP URL's host: it moves
    ({"onvif_host": "10.0.0.5"}, {"onvif_host": "10.0.0.5", "name": "Renamed"}, KEPT),
    ({"onvif_host": "cam.example"}, {"onvif_host": "CAM.Example"}, KEPT),  # host names know no case
    # The RTSP URL moved while onvif_host holds the ONVIF address still.
    ({"onvif_host": "10.0.0.5"}, {"rtsp_url": "rtsp://10.0.0.5:8554/a"}, CLEARED),
    # With onvif_host empty the ONVIF address follows the RTSP URL's host.
    ({"snapshot_url": ""}, {"rtsp_url": "rtsp://127.0.0.2:8554/a"}, CLEARED),
    # Combinations.
    ({}, {"rtsp_url": "rtsp://127.0.0.1:8554/b", "onvif_port": 8001}, CLEARED),
    ({}, {"rtsp_url": "rtsp://localhost:8554/a", "onvif_host": "127.0.0.1"}, CLEARED),
    ({}, {"snapshot_url": "http://127.0.0.1:8080/b", "onvif_host": "198.51.100.7"}, CLEARED),
    (
        {},
        {"rtsp_url": "rtsp://127.0.0.1:8554/b", "snapshot_url": "http://127.0.0.1:8080/b", "onvif_host": "127.0.0.1"},
        KEPT,
    ),
    ({}, {"snapshot_url": "http://127.0.0.1:8000/b"}, KEPT),  # moved to the ONVIF service's endpoint
    ({"onvif_host": "10.0.0.5"}, {"onvif_host": "", "rtsp_url": "rtsp://10.0.0.5:8554/a"}, CLEARED),
]


@pytest.mark.parametrize(("stored", "change", "kept"), PATCHES)
def test_a_patch_keeps_the_password_only_while_every_endpoint_stays_one_it_was_entered_with(api, stored, change, kept):
    device = camera(**stored)
    response = api.patch(f"/api/devices/{device.pk}", change, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["has_password"] is kept
    assert stored_password(device) == (PASSWORD if kept else "")


@pytest.mark.parametrize(("stored", "change", "kept"), PATCHES)
def test_the_service_holds_the_same_rule(stored, change, kept):
    device = camera(**stored)
    device_update(device=device, **change)
    assert (device.password, stored_password(device)) == ((PASSWORD, PASSWORD) if kept else ("", ""))


@pytest.mark.parametrize(
    "change",
    [
        {"rtsp_url": "rtsp://127.0.0.1:9554/a"},
        {"snapshot_url": "http://127.0.0.1:8081/picture"},
        {"onvif_host": "198.51.100.7"},
        {"onvif_port": 8001},
        {"onvif_host": "198.51.100.7", "onvif_port": 80, "rtsp_url": "rtsp://198.51.100.7/a"},
    ],
)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_password_given_in_the_same_request_is_stored_for_the_new_endpoints(api, change, method):
    device = camera()
    body = {"name": "Gate", "rtsp_url": device.rtsp_url, **change, "password": "For-The-New-Place"}
    response = getattr(api, method)(f"/api/devices/{device.pk}", body, format="json")
    assert (response.status_code, response.json()["has_password"]) == (200, True)
    assert stored_password(device) == "For-The-New-Place"


def put_body(device: Device, **changes) -> dict:
    fields = ("name", "rtsp_url", "snapshot_url", "frame_source", "onvif_host", "onvif_port", "username")
    return {**{name: getattr(device, name) for name in fields}, **changes}


@pytest.mark.parametrize(
    ("change", "kept"),
    [
        ({}, KEPT),  # the same camera sent back whole
        ({"password": ""}, KEPT),
        ({"onvif_port": 8001}, CLEARED),
        ({"onvif_host": "198.51.100.7"}, CLEARED),
        ({"snapshot_url": "http://127.0.0.1:8081/picture"}, CLEARED),
        ({"rtsp_url": "rtsps://127.0.0.1:8554/a"}, CLEARED),
    ],
)
def test_a_put_holds_the_same_rule(api, change, kept):
    device = camera()
    response = api.put(f"/api/devices/{device.pk}", put_body(device, **change), format="json")
    assert (response.status_code, response.json()["has_password"]) == (200, kept)
    assert stored_password(device) == (PASSWORD if kept else "")


@pytest.mark.parametrize(
    ("onvif_host", "kept"),
    [("[::1]", KEPT), ("::1", KEPT), ("[::2]", CLEARED), ("::2", CLEARED)],
)
def test_an_ipv6_onvif_host_is_the_same_address_with_or_without_brackets(api, onvif_host, kept):
    device = camera(rtsp_url="rtsp://[::1]:8554/a", snapshot_url="")
    response = api.patch(f"/api/devices/{device.pk}", {"onvif_host": onvif_host}, format="json")
    assert (response.status_code, response.json()["has_password"]) == (200, kept)


def test_a_refused_change_keeps_the_password_and_the_endpoints(api):
    device = camera()
    response = api.patch(f"/api/devices/{device.pk}", {"onvif_port": 8001, "name": "x\x1b"}, format="json")
    assert response.status_code == 400
    stored = Device.objects.get(pk=device.pk)
    assert (stored.onvif_port, stored.password) == (8000, PASSWORD)


def test_the_rule_compares_with_the_stored_camera_not_with_an_object_changed_in_memory():
    device = camera()
    device.onvif_host = "198.51.100.7"  # changed by a caller, never saved
    device_update(device=device, name="Renamed")
    assert stored_password(device) == ""
    device = camera(name="Other")
    Device.objects.filter(pk=device.pk).update(onvif_port=8001, password="")  # moved since it was read
    device_update(device=device, onvif_port=8001)
    assert stored_password(device) == ""


# Discovery: the URLs a profile offers keep the password when the ONVIF service that offered
# them is at the address the password was entered with and they are on its host.


def profile(rtsp_url: str, snapshot_url: str = "") -> onvif.Profile:
    return onvif.Profile(token="main", name="main", rtsp_url=rtsp_url, snapshot_url=snapshot_url)


@pytest.mark.parametrize(
    ("stored", "offered", "kept"),
    [
        # On the ONVIF service's host, at ports of their own: the camera says where its streams are.
        ({}, profile("rtsp://127.0.0.1:554/live", "http://127.0.0.1:80/snap"), KEPT),
        ({}, profile("rtsp://127.0.0.1:554/live"), KEPT),  # the stored snapshot URL stays, unchanged
        ({"onvif_host": "10.0.0.5"}, profile("rtsp://10.0.0.5/live", "http://10.0.0.5/snap"), KEPT),
        ({"onvif_host": "[::1]", "rtsp_url": "rtsp://127.0.0.1/a"}, profile("rtsp://[::1]:554/live"), KEPT),
        # Elsewhere than the ONVIF host.
        ({}, profile("rtsp://198.51.100.9:554/live"), CLEARED),
        ({}, profile("rtsp://127.0.0.1:554/live", "http://198.51.100.9/snap"), CLEARED),
        ({"onvif_host": "10.0.0.5"}, profile("rtsp://127.0.0.1:554/live"), CLEARED),
        # Down from TLS: the camera's answer came over plain http, and cannot take TLS away.
        ({"rtsp_url": "rtsps://127.0.0.1/a"}, profile("rtsp://127.0.0.1/live"), CLEARED),
        (
            {"snapshot_url": "https://127.0.0.1/snap"},
            profile("rtsp://127.0.0.1/live", "http://127.0.0.1/snap"),
            CLEARED,
        ),
        ({"rtsp_url": "rtsps://127.0.0.1/a"}, profile("rtsps://127.0.0.1:8322/live"), KEPT),
        # A stored snapshot URL on another host, entered with the password, is not the profile's.
        ({"snapshot_url": "http://10.0.0.8/picture"}, profile("rtsp://127.0.0.1:554/live"), KEPT),
    ],
)
def test_apply_profile_keeps_the_password_for_urls_the_entered_onvif_address_offered(stored, offered, kept):
    device = camera(**stored)
    device_apply_profile(device=device, profile=offered)
    assert device.rtsp_url == offered.rtsp_url
    assert stored_password(device) == (PASSWORD if kept else "")


def test_an_onvif_address_moved_since_the_password_was_entered_vouches_for_nothing(api):
    device = camera()
    assert api.patch(f"/api/devices/{device.pk}", {"onvif_host": "198.51.100.7"}, format="json").status_code == 200
    device.refresh_from_db()
    device_apply_profile(device=device, profile=profile("rtsp://198.51.100.7/live", "http://198.51.100.7/snap"))
    assert Device.objects.get(pk=device.pk).has_password is False


def test_an_onvif_address_changed_in_memory_only_vouches_for_nothing():
    device = camera()
    device.onvif_host = "198.51.100.7"  # never saved: the password was never entered for it
    device_apply_profile(device=device, profile=profile("rtsp://198.51.100.7/live", "http://198.51.100.7/snap"))
    assert stored_password(device) == ""


# The attack end to end: someone who may change the camera, but does not know its password,
# moves its ONVIF address to a service of theirs, which takes any signature and keeps it.


class Collecting(OnvifDevice):
    def __init__(self, **kwargs):
        self.bodies: list[str] = []
        super().__init__(**kwargs)

    def signed(self, body: str) -> bool:
        self.bodies.append(body)
        return True


def signed_with(body: str, password: str) -> bool:
    digest, nonce, created = _field(body, "Password"), _field(body, "Nonce"), _field(body, "Created")
    if None in (digest, nonce, created):
        return False
    raw = base64.b64decode(nonce) + created.encode() + password.encode()
    return digest == base64.b64encode(hashlib.sha1(raw).digest()).decode()  # noqa: S324 - WS-Security's digest


@pytest.fixture
def collector():
    service = Collecting(
        user="cam", password="", stream_uri="rtsp://127.0.0.1:9/theirs", snapshot_uri="http://127.0.0.1:9/theirs"
    )
    yield service
    service.close()


def test_moving_the_onvif_port_to_another_service_sends_it_no_digest_of_the_password(api, collector):
    device = camera(rtsp_url="rtsp://127.0.0.1:554/old", snapshot_url="")
    assert api.patch(f"/api/devices/{device.pk}", {"onvif_port": collector.port}, format="json").status_code == 200
    response = api.post(f"/api/devices/{device.pk}/discover", {"apply": "main"}, format="json")
    assert response.status_code == 200, response.json()
    assert collector.bodies  # it was asked...
    assert not any(signed_with(body, PASSWORD) for body in collector.bodies)  # ...never with the password
    device.refresh_from_db()
    assert (device.rtsp_url, device.has_password) == ("rtsp://127.0.0.1:9/theirs", False)


def test_the_admin_action_after_a_moved_onvif_address_leaves_no_password(api, admin_client, collector):
    device = camera(rtsp_url="rtsp://127.0.0.1:554/old", snapshot_url="")
    api.patch(f"/api/devices/{device.pk}", {"onvif_host": "127.0.0.1", "onvif_port": collector.port}, format="json")
    page = admin_client.post(
        "/admin/devices/device/", {"action": "discover_onvif", "_selected_action": [str(device.pk)]}, follow=True
    ).content.decode()
    assert "filled from mainStream" in page
    assert not any(signed_with(body, PASSWORD) for body in collector.bodies)
    assert Device.objects.get(pk=device.pk).has_password is False
