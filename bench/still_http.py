"""A camera's still-image URL against the one-shot RTSP grab and the live frame, over HTTP.

One camera of the test camera server (/h264: 1080p, keyframe every 2 s, none sent on join)
registered three times: read one-shot over RTSP (live off, frame_source rtsp), held by the stream
keeper (live on, frame_source rtsp), and through its snapshot URL (frame_source still), served by
a local HTTP server on 127.0.0.1 that answers a 1080p JPEG of that camera with Basic
authentication, as a camera's /ISAPI/.../picture does. gunicorn (2 workers, production
settings) on a fresh PostgreSQL database (vas_still_bench, dropped and created), the keeper
publishing into files (no Redis). The three captures take turns, each after a random pause of up
to one keyframe interval, timed by the client.

    .venv/bin/python bench/still_http.py [--runs 20]

Nothing here asserts on time; it exits 1 when a capture answers anything but a 201 from the
source it should have come from.
"""

import argparse
import base64
import random
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import wait_until_up  # noqa: E402
from bench.live_http import capture, fresh_product_database, get_token, ms_row, start, wait_live  # noqa: E402

DATABASE = "vas_still_bench"
USER, PASSWORD = "camuser", "still-bench-pass"
KEYFRAME_INTERVAL_S = 2.0


def serve_still(jpeg: bytes) -> ThreadingHTTPServer:
    """A camera's snapshot URL: the JPEG at /picture, behind Basic authentication."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(jpeg)))
            self.end_headers()
            self.wfile.write(jpeg)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-still-http-"))
    env = fresh_product_database(DATABASE, VAS_LIVE_DIR=str(work / "live"), VAS_LIVE_URL="", CELERY_BROKER_URL="")
    from capture import rtsp
    from devices.models import Device
    from snapshots.tests.servers import free_port, start_test_camera, stop_process

    failures: list[str] = []
    camera = gunicorn = keeper = still = None
    try:
        print("starting the test camera ...", file=sys.stderr)
        camera = start_test_camera(work)
        url = camera.url("h264")
        jpeg = rtsp.grab_jpeg(url, username="", password="", timeout_s=10, max_bytes=20 * 1024 * 1024)
        still = serve_still(jpeg)
        snapshot_url = f"http://127.0.0.1:{still.server_address[1]}/picture"
        devices = {
            "oneshot": Device.objects.create(name="one-shot RTSP", rtsp_url=url, live=False, frame_source="rtsp"),
            "live": Device.objects.create(name="live frame", rtsp_url=url, live=True, frame_source="rtsp"),
            "still": Device.objects.create(
                name="snapshot URL",
                rtsp_url=url,
                snapshot_url=snapshot_url,
                frame_source="still",
                live=False,
                username=USER,
                password=PASSWORD,
            ),
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn_argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        gunicorn = start(gunicorn_argv, env, work / "gunicorn.log")
        keeper = start([sys.executable, "manage.py", "run_stream_keeper"], env, work / "keeper.log")
        wait_until_up(base, gunicorn)
        token = get_token(base)
        wait_live(base, token, [str(devices["live"].pk)])

        timings: dict[str, list[float]] = {side: [] for side in devices}
        for _ in range(args.runs):
            for side in random.sample(list(devices), len(devices)):
                time.sleep(random.uniform(0, KEYFRAME_INTERVAL_S))  # noqa: S311 - a pause, not a secret
                elapsed, status, body = capture(base, token, str(devices[side].pk))
                if status != 201 or body.get("source") != side:
                    failures.append(f"{side}: {status} {body.get('source') or body}")
                timings[side].append(elapsed)

        print(f"\n## Still-image URL, one-shot RTSP and the live frame over HTTP, {args.runs} runs each\n")
        print(
            f"The frame: {len(jpeg)} bytes of 1920x1080 JPEG from /h264 (keyframe every {KEYFRAME_INTERVAL_S:.0f} s).\n"
        )
        print("| capture | source | p50 ms | p95 ms | mean ms |")
        print("|---|---|---|---|---|")
        labels = {
            "still": "snapshot URL (Basic auth)",
            "oneshot": "one-shot RTSP grab",
            "live": "stream keeper's frame",
        }
        for side in ("still", "oneshot", "live"):
            print(ms_row([labels[side], f"`{side}`"], timings[side]))
        still_p50 = sorted(timings["still"])[len(timings["still"]) // 2]
        oneshot_p50 = sorted(timings["oneshot"])[len(timings["oneshot"]) // 2]
        print(f"\nsnapshot URL / one-shot RTSP at p50: {still_p50 / oneshot_p50:.2f}")
    finally:
        for process in (gunicorn, keeper):
            if process is not None:
                stop_process(process)
        if camera is not None:
            stop_process(camera.process)
        if still is not None:
            still.shutdown()
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
