"""A URL written straight into the database cannot turn FFmpeg's libraries against the host."""

import http.server
import threading

import pytest

from capture.errors import CaptureError
from devices.models import Device
from snapshots.services import snapshot_capture
from snapshots.tests.factories import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_jpeg(tmp_path):
    path = tmp_path / "secret.jpg"
    path.write_bytes(jpeg_bytes(64, 36))
    return path


@pytest.fixture
def http_server():
    """A local HTTP server that counts the requests it gets."""
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], requests
    server.shutdown()


def capture_url(url: str) -> CaptureError:
    # objects.create skips the model validators, as a hand-edited database row would.
    device = Device.objects.create(name="hostile", rtsp_url=url)
    with pytest.raises(CaptureError) as caught:
        snapshot_capture(device=device, trigger="api", force=True)
    return caught.value


@pytest.mark.parametrize(
    "template",
    ["file:{path}", "{path}", "concat:{path}|{path}", "subfile:,,start,0,end,0,,:{path}", "-i {path}"],
)
def test_local_files_are_never_read(local_jpeg, template):
    assert capture_url(template.format(path=local_jpeg)).code == "invalid_url"


@pytest.mark.parametrize("template", ["http://127.0.0.1:{port}/live.m3u8", "hls+http://127.0.0.1:{port}/live.m3u8"])
def test_other_urls_are_never_fetched(http_server, template):
    port, requests = http_server
    assert capture_url(template.format(port=port)).code == "invalid_url"
    assert requests == []


def test_a_malformed_url_in_the_database_is_invalid_url_not_a_crash():
    error = capture_url("rtsp://[::1/stream")
    assert error.code == "invalid_url"
    assert Device.objects.get(name="hostile").last_error.startswith("invalid_url:")
