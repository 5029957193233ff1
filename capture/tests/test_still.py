"""Captures from a camera's own still-image URL, against a real HTTP camera on 127.0.0.1: Basic
and Digest authentication, a "busy" page with status 200, a trickle, a redirect, a huge body."""

import base64
import hashlib
import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devices.models import Device
from snapshots.models import Snapshot
from snapshots.tests.factories import jpeg_bytes
from snapshots.tests.servers import GarblingServer, make_certificate

JPEG = jpeg_bytes(1280, 720)
USER, PASSWORD = "camuser", "Still-Secret-42"
REALM, NONCE = "camera", "5f3a9c"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP Digest is MD5 by definition


class StillCamera:
    """A camera's HTTP side: /plain, /basic, /digest, /xml (a busy page with 200), /trickle,
    /redirect (to /elsewhere, which records whether anyone came), /redirect_to_file (to
    file:///etc/passwd), /huge."""

    def __init__(self) -> None:
        self.elsewhere_visits = 0
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = getattr(self, f"route_{self.path.strip('/')}", None)
                if route is None:
                    self.send_error(404)
                    return
                route()

            def jpeg(self, body: bytes = JPEG) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def route_plain(self) -> None:
                self.jpeg()

            def route_basic(self) -> None:
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", f'Basic realm="{REALM}"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.jpeg()

            def route_digest(self) -> None:
                fields = dict(re.findall(r'(\w+)="?([^",]+)"?', self.headers.get("Authorization", "")))
                ha1 = _md5(f"{USER}:{REALM}:{PASSWORD}")
                ha2 = _md5(f"GET:{fields.get('uri', '')}")
                expected = _md5(f"{ha1}:{NONCE}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
                if fields.get("response") != expected:
                    self.send_response(401)
                    challenge = f'Digest realm="{REALM}", nonce="{NONCE}", qop="auth", algorithm=MD5'
                    self.send_header("WWW-Authenticate", challenge)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.jpeg()

            def route_xml(self) -> None:
                body = b'<?xml version="1.0"?><ResponseStatus><statusString>Device Busy</statusString></ResponseStatus>'
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def route_trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(JPEG)))
                self.end_headers()
                for byte in JPEG[:200]:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return  # cut off at the capture timeout
                    time.sleep(0.05)

            def route_trickle_headers(self) -> None:
                # Each byte well within the socket timeout; the headers would take 100 s.
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(1000):
                    try:
                        self.wfile.write(b"a")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.1)

            def route_redirect(self) -> None:
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{camera.port}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def route_redirect_to_file(self) -> None:
                self.send_response(302)
                self.send_header("Location", "file:///etc/passwd")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def route_elsewhere(self) -> None:
                camera.elsewhere_visits += 1
                self.jpeg()

            def route_huge(self) -> None:
                self.jpeg(JPEG + b"\0" * (2 * 1024 * 1024))

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def still_camera():
    camera = StillCamera()
    yield camera
    camera.close()


def still_device(still_camera: StillCamera, path: str, **fields) -> Device:
    # The RTSP URL leads nowhere: a frame can only have come from the snapshot URL.
    return Device.objects.create(
        name=f"still {path}",
        rtsp_url="rtsp://127.0.0.1:1/none",
        snapshot_url=still_camera.url(path),
        live=False,
        **fields,
    )


def capture(api, device: Device):
    return api.post(f"/api/snapshots/capture/{device.pk}")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["plain", "basic", "digest"])
def test_a_capture_takes_the_cameras_still_image_with_basic_or_digest_authentication(api, still_camera, path):
    device = still_device(still_camera, path, username=USER, password=PASSWORD)
    response = capture(api, device)
    assert response.status_code == 201, response.json()
    assert response.json()["source"] == "still"
    assert api.get(f"/api/snapshots/{response.json()['id']}/image.jpg").content == JPEG


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["basic", "digest"])
def test_a_wrong_password_is_auth_failed_and_never_shown(api, still_camera, path, caplog):
    device = still_device(still_camera, path, username=USER, password="Wrong-Guess-99")
    response = capture(api, device)
    assert (response.status_code, response.json()["code"]) == (502, "auth_failed")
    device.refresh_from_db()
    assert "Wrong-Guess-99" not in response.content.decode() + device.last_error + caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("xml", 502, "invalid_image"),  # a busy page with status 200 is not a snapshot
        ("redirect", 502, "still_failed"),
        ("redirect_to_file", 502, "still_failed"),
        ("huge", 502, "image_too_large"),
        ("missing", 502, "still_failed"),
    ],
)
def test_a_still_url_that_gives_no_image_fails_and_stores_nothing(api, still_camera, settings, path, status, code):
    settings.CAPTURE_MAX_IMAGE_BYTES = 1024 * 1024
    response = capture(api, still_device(still_camera, path))
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Snapshot.objects.exists()
    assert still_camera.elsewhere_visits == 0  # the redirect was not followed


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["trickle", "trickle_headers"])
def test_a_camera_trickling_its_image_or_its_headers_is_cut_off_at_the_capture_timeout(
    api, still_camera, settings, path
):
    settings.CAPTURE_TIMEOUT_S = 2
    started = time.monotonic()
    response = capture(api, still_device(still_camera, path))
    assert (response.status_code, response.json()["code"]) == (504, "timeout")
    assert time.monotonic() - started < settings.CAPTURE_TIMEOUT_S + 1.5


@pytest.mark.django_db
def test_frame_source_rtsp_never_uses_the_snapshot_url(api, still_camera):
    response = capture(api, still_device(still_camera, "plain", frame_source="rtsp"))
    assert (response.status_code, response.json()["code"]) == (502, "unreachable")  # the RTSP URL's answer


@pytest.mark.django_db
def test_frame_source_still_needs_a_snapshot_url(api, device):
    response = api.patch(f"/api/devices/{device.pk}", {"frame_source": "still"}, format="json")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["frame_source"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/picture", "http://user:pw@127.0.0.1/picture", "http:///picture", " http://127.0.0.1/a"]
)
def test_a_bad_snapshot_url_is_a_400(api, device, url):
    response = api.patch(f"/api/devices/{device.pk}", {"snapshot_url": url}, format="json")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["snapshot_url"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("snapshot_url", "kept"),
    [
        # Newly set on the camera's ONVIF endpoint (its host, port 80), which has the password already.
        ("http://127.0.0.1/picture", True),
        # Another port of the camera's host: whoever listens there would get the password.
        ("http://127.0.0.1:8080/picture", False),
        ("http://198.51.100.7/picture", False),  # newly set, on another host: it would get the password
    ],
)
def test_the_password_goes_to_a_new_snapshot_url_only_where_it_already_goes(api, snapshot_url, kept):
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1:554/s", username="u", password="pw-123")
    response = api.patch(f"/api/devices/{device.pk}", {"snapshot_url": snapshot_url}, format="json")
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.has_password is kept


@pytest.fixture
def tls_still_camera(still_camera, tmp_path):
    """The same camera behind HTTPS with a self-signed certificate."""
    cert, key = make_certificate(tmp_path, name="127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    still_camera.server.socket = context.wrap_socket(still_camera.server.socket, server_side=True)
    return still_camera


@pytest.mark.django_db
def test_an_untrusted_certificate_is_refused_unless_verification_is_off(api, tls_still_camera):
    url = tls_still_camera.url("plain").replace("http://", "https://")
    checked = Device.objects.create(name="checked", rtsp_url="rtsp://127.0.0.1:1/none", snapshot_url=url, live=False)
    response = capture(api, checked)
    assert (response.status_code, response.json()["code"]) == (502, "tls_untrusted")
    trusting = Device.objects.create(
        name="trusting", rtsp_url="rtsp://127.0.0.1:1/none", snapshot_url=url, live=False, tls_verify=False
    )
    assert capture(api, trusting).json()["source"] == "still"


@pytest.mark.django_db
def test_a_closed_port_is_unreachable_and_a_garbled_answer_is_still_failed(api, still_camera):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    device = still_device(still_camera, "plain")
    Device.objects.filter(pk=device.pk).update(snapshot_url=f"http://127.0.0.1:{closed}/picture")
    response = capture(api, device)
    assert (response.status_code, response.json()["code"]) == (502, "unreachable")
    assert Device.objects.get(pk=device.pk).status == "offline"
    garbler = GarblingServer(b"garbage\r\n\r\n")
    Device.objects.filter(pk=device.pk).update(snapshot_url=f"http://127.0.0.1:{garbler.port}/picture")
    response = api.post(f"/api/snapshots/capture/{device.pk}?force=true")
    garbler.close()
    assert (response.status_code, response.json()["code"]) == (502, "still_failed")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1:0/picture", "http://[::1/picture"])
def test_a_snapshot_url_with_a_bad_port_or_host_is_a_400(api, device, url):
    response = api.patch(f"/api/devices/{device.pk}", {"snapshot_url": url}, format="json")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["snapshot_url"])


@pytest.mark.django_db
def test_the_admin_refuses_frame_source_still_without_a_snapshot_url(admin_client, device):
    data = {"name": device.name, "rtsp_url": device.rtsp_url, "frame_source": "still", "onvif_port": "80"}
    response = admin_client.post(f"/admin/devices/device/{device.pk}/change/", data)
    assert response.status_code == 200
    assert "still needs a snapshot URL." in response.content.decode()
