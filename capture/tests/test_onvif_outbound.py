"""ONVIF's requests (discovery and keyframe requests) against hostile device services on
127.0.0.1: a huge answer is read only up to the cap, answers that trickle or come slowly are cut
at one deadline for the whole exchange, a redirect is never followed (nor the signed request sent
again anywhere), and a service the camera names elsewhere is asked only at the device's address."""

import time

import pytest

from capture import onvif
from capture.tests import hostile
from devices.tests.onvif_device import FAULT, OnvifDevice

USER, PASSWORD = "onvif", "Onvif-Pass-77"


@pytest.fixture
def device():
    camera = OnvifDevice(
        user=USER, password=PASSWORD, stream_uri="rtsp://127.0.0.1:8554/live", snapshot_uri="http://127.0.0.1:8080/s"
    )
    yield camera
    camera.close()


@pytest.fixture(autouse=True)
def fresh_media_services():
    onvif._media_services.clear()
    yield
    onvif._media_services.clear()


def discover(port: int, timeout_s: float = 3) -> list[onvif.Profile]:
    return onvif.discover(host="127.0.0.1", port=port, username=USER, password=PASSWORD, timeout_s=timeout_s)


def ask_keyframe(port: int, timeout_s: float = 3) -> bool:
    return onvif.request_keyframe(
        host="127.0.0.1", port=port, username=USER, password=PASSWORD, profile_token="main", timeout_s=timeout_s
    )


def in_front(device: OnvifDevice, peers, answer: hostile.Answer) -> hostile.Peer:
    """A hostile peer in front of the device, which names the peer's address for its services too
    (so that even a client going where the camera points goes through the peer)."""
    peer = peers(answer)
    device._xaddr = lambda service: peer.url(f"/onvif/{service}")
    return peer


def failure_code(port: int, timeout_s: float = 3) -> str:
    with pytest.raises(onvif.DiscoveryError) as failed:
        discover(port, timeout_s)
    return failed.value.code


def test_an_honest_device_behind_the_relay_is_discovered(device, peers):
    # The relay the hostile tests put in front of the device changes nothing by itself.
    relay = in_front(device, peers, hostile.relay_to(device.port))
    assert [profile.token for profile in discover(relay.port)] == ["main", "sub"]
    assert ask_keyframe(relay.port) is True
    assert [hostile.soap_action(request) for request in relay.requests].count("SetSynchronizationPoint") == 1


@pytest.mark.parametrize("action", ["GetSystemDateAndTime", "GetServices", "GetProfiles", "GetStreamUri"])
def test_discovery_reads_a_huge_answer_only_up_to_the_cap(device, peers, action):
    peer = in_front(device, peers, hostile.for_actions({action: hostile.huge()}, hostile.relay_to(device.port)))
    code, elapsed = hostile.read_boundedly(peer, lambda: failure_code(peer.port))
    assert code == "onvif_failed"
    assert elapsed < 2


def test_a_keyframe_request_reads_a_huge_answer_only_up_to_the_cap(device, peers):
    answers = hostile.for_actions({"SetSynchronizationPoint": hostile.huge()}, hostile.relay_to(device.port))
    peer = in_front(device, peers, answers)
    asked, _ = hostile.read_boundedly(peer, lambda: ask_keyframe(peer.port))
    assert asked is False


@pytest.mark.parametrize(
    "answer",
    [
        hostile.trickle(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: 100000\r\n\r\n"),
        hostile.trickle(b"HTTP/1.1 200 OK\r\nX-Slow: "),
    ],
    ids=["body", "headers"],
)
def test_discovery_of_a_device_trickling_its_answer_is_cut_at_the_timeout(device, peers, answer):
    peer = in_front(device, peers, hostile.for_actions({"GetProfiles": answer}, hostile.relay_to(device.port)))
    started = time.monotonic()
    assert failure_code(peer.port, timeout_s=1) == "onvif_timeout"
    assert time.monotonic() - started < 1.5


def test_discovery_is_one_deadline_however_many_requests_it_makes(device, peers):
    # Each answer well within the timeout; the seven of a discovery together far beyond it.
    peer = in_front(device, peers, hostile.slowly(hostile.relay_to(device.port), delay_s=0.4))
    started = time.monotonic()
    assert failure_code(peer.port, timeout_s=1) == "onvif_timeout"
    assert time.monotonic() - started < 1.5


def test_a_keyframe_request_is_one_deadline_for_its_three_requests(device, peers):
    peer = in_front(device, peers, hostile.slowly(hostile.relay_to(device.port), delay_s=0.4))
    started = time.monotonic()
    assert ask_keyframe(peer.port, timeout_s=1) is False
    assert time.monotonic() - started < 1.5
    assert device.sync_points == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("action", ["GetSystemDateAndTime", "GetServices", "GetProfiles"])
def test_discovery_follows_no_redirect_and_sends_the_signed_request_nowhere_else(device, peers, status, action):
    elsewhere = peers(hostile.relay_to(device.port))
    location = elsewhere.url(onvif.DEVICE_SERVICE_PATH)
    answers = hostile.for_actions({action: hostile.redirect(status, location)}, hostile.relay_to(device.port))
    peer = in_front(device, peers, answers)
    assert failure_code(peer.port) == "onvif_failed"
    assert elsewhere.connections == 0
    assert [hostile.soap_action(request) for request in peer.requests].count(action) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_keyframe_request_follows_no_redirect(device, peers, status):
    elsewhere = peers(hostile.relay_to(device.port))
    redirect = hostile.redirect(status, elsewhere.url("/onvif/media_service"))
    peer = in_front(
        device, peers, hostile.for_actions({"SetSynchronizationPoint": redirect}, hostile.relay_to(device.port))
    )
    assert ask_keyframe(peer.port) is False
    assert (elsewhere.connections, device.sync_points) == (0, [])


def test_discovery_asks_the_media_service_at_the_devices_address_not_where_the_camera_points(device, peers):
    elsewhere = peers(hostile.relay_to(device.port))
    device._xaddr = lambda service: elsewhere.url(f"/onvif/{service}")
    assert [profile.token for profile in discover(device.port)] == ["main", "sub"]
    assert elsewhere.connections == 0


class OlderDevice(OnvifDevice):
    """A device without GetServices (ONVIF before 2.0): its media service is named by GetCapabilities."""

    def GetServices(self, body: str) -> str:  # noqa: N802 - ONVIF's operation names
        return FAULT.format("Action not supported")

    def GetCapabilities(self, body: str) -> str:  # noqa: N802
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media>"
            f"<tt:XAddr>{self._xaddr('media_service')}</tt:XAddr>"
            "</tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>"
        )


def test_a_device_without_get_services_is_discovered_through_get_capabilities():
    older = OlderDevice(user=USER, password=PASSWORD, stream_uri="rtsp://127.0.0.1:8554/live", snapshot_uri="")
    try:
        profiles = discover(older.port)
        assert [(profile.token, profile.rtsp_url, profile.snapshot_url) for profile in profiles] == [
            ("main", "rtsp://127.0.0.1:8554/live", ""),
            ("sub", "rtsp://127.0.0.1:8554/live", ""),
        ]
        assert ask_keyframe(older.port) is True
    finally:
        older.close()
