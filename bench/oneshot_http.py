"""One-shot capture over HTTP: gunicorn (4 workers), no stream keeper, every camera's live mode off.

For each codec layout of the test camera (/h264 and /bframes 1080p, /h265-bframes 720p, keyframe
every 2 s; /long-gop 720p, every 4 s; none on join), the reference ffmpeg command and
POST /api/snapshots/capture/{id} alternate, each after a random pause of up to one keyframe
interval so that neither stays in step with the keyframes. Every answer should be a 201 from
a one-shot grab. On a fresh PostgreSQL database (vas_oneshot_bench, dropped and created).

/on-request is a camera that speaks ONVIF: a live H.264 High encoder with B-frames, 1280x720,
a keyframe every 4 s of its own and one more whenever its ONVIF service is asked. Its device has
its ONVIF profile set, so our grab asks for a keyframe once the stream plays; the reference command's
command cannot ask and waits for the next one.

Nothing here asserts on time; it exits 1 when a capture answers anything but a one-shot 201.

    .venv/bin/python bench/oneshot_http.py [--runs 20] [--paths h264 bframes h265-bframes long-gop on-request]
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.capture_latency import first_vas_capture  # noqa: E402
from bench.common import percentile, wait_until_up  # noqa: E402
from bench.live_http import capture, fresh_product_database, get_token, ms_row, start  # noqa: E402

if TYPE_CHECKING:  # imported in main, after Django is set up
    from snapshots.tests.servers import CameraServer

DATABASE = "vas_oneshot_bench"
KEYFRAME_INTERVAL_S = {"h264": 2.0, "bframes": 2.0, "h265-bframes": 2.0, "long-gop": 4.0, "on-request": 4.0}
ON_REQUEST_CAMERA = ("--on-request-keyint-s", "4", "--on-request-size", "1280x720")


def onvif_fields(camera: "CameraServer") -> dict[str, object]:
    """A device's fields for the test camera's ONVIF service (its credentials: scripts/test_camera.py)."""
    password = "cam-secret-Pa55"  # noqa: S105
    return {"onvif_port": camera.onvif_port, "onvif_profile": "main", "username": "camuser", "password": password}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--paths", nargs="+", default=list(KEYFRAME_INTERVAL_S), choices=list(KEYFRAME_INTERVAL_S))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-oneshot-http-"))
    env = fresh_product_database(DATABASE, VAS_LIVE_DEFAULT="false")
    from devices.models import Device
    from snapshots.tests.servers import free_port, start_test_camera, stop_process

    failures: list[str] = []
    camera = gunicorn = None
    try:
        print("starting the test camera ...", file=sys.stderr)
        camera = start_test_camera(work, extra_args=ON_REQUEST_CAMERA)
        onvif = onvif_fields(camera)
        devices = {
            path: str(
                Device.objects.create(
                    name=path, rtsp_url=camera.url(path), live=False, **(onvif if path == "on-request" else {})
                ).pk
            )
            for path in args.paths
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn_argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi", "-w", "4", "-b", f"127.0.0.1:{port}"]
        gunicorn = start(gunicorn_argv, env, work / "gunicorn.log")
        wait_until_up(base, gunicorn)
        token = get_token(base)

        print(f"\n## One-shot capture over HTTP, {args.runs} alternating runs per path\n")
        print("| path | side | p50 ms | p95 ms | mean ms |")
        print("|---|---|---|---|---|")
        notes = []
        for path, device_id in devices.items():
            interval_s = KEYFRAME_INTERVAL_S[path]
            theirs, ours = [], []
            for _ in range(args.runs):
                time.sleep(random.uniform(0, interval_s))  # noqa: S311
                theirs.append(first_vas_capture(camera.url(path), work))
                time.sleep(random.uniform(0, interval_s))  # noqa: S311
                elapsed, status, answer = capture(base, token, device_id)
                ours.append(elapsed)
                if status != 201 or answer.get("source") != "oneshot":
                    failures.append(f"/{path}: {status} {answer.get('source', answer.get('code'))}")
            print(ms_row([f"/{path}", "theirs: reference ffmpeg"], theirs))
            print(ms_row([f"/{path}", "ours: POST capture, one-shot"], ours))
            ratio = percentile(ours, 0.5) / percentile(theirs, 0.5)
            asked = ", ours asks it for a keyframe over ONVIF" if path == "on-request" else ""
            notes.append(f"- /{path}: ours/theirs at p50 = {ratio:.2f} (keyframe every {interval_s:g} s{asked})")
        print("\n" + "\n".join(notes))
    finally:
        if gunicorn is not None:
            stop_process(gunicorn)
        if camera is not None:
            stop_process(camera.process)
    if failures:
        print("\nFAILED: " + "; ".join(failures[:10]))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
