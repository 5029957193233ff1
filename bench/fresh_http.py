"""A fresh frame from a camera the stream keeper holds: POST /api/snapshots/capture/{id}?max_age=0
over HTTP, with and without asking the camera for a keyframe.

gunicorn (2 workers) and run_stream_keeper on a fresh PostgreSQL database (vas_fresh_bench,
dropped and created), the live store in files. The test camera's /on-request path is a camera
that speaks ONVIF (live H.264 High with B-frames, 1280x720, a keyframe every 4 s of its own and one
more whenever its ONVIF service is asked). It is registered twice, both held by the keeper: once
with its ONVIF profile (the capture asks for a keyframe while it waits) and once without (the
capture waits for the camera's next keyframe). max_age=0 takes only a keyframe that arrives after
the request. The two alternate, each after a random pause of up to one keyframe interval, timed by
the client. Every answer should be a 201 with "source": "live".

Nothing here asserts on time; it exits 1 when a capture answers anything else.

    .venv/bin/python bench/fresh_http.py [--runs 20]
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import percentile, wait_until_up  # noqa: E402
from bench.live_http import capture, fresh_product_database, get_token, ms_row, start, wait_live  # noqa: E402
from bench.oneshot_http import ON_REQUEST_CAMERA, onvif_fields  # noqa: E402

DATABASE = "vas_fresh_bench"
KEYFRAME_INTERVAL_S = 4.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-fresh-http-"))
    env = fresh_product_database(DATABASE, VAS_LIVE_DIR=str(work / "live"))
    from devices.models import Device
    from snapshots.tests.servers import free_port, start_test_camera, stop_process

    failures: list[str] = []
    camera = None
    processes = []
    try:
        print("starting the test camera ...", file=sys.stderr)
        camera = start_test_camera(work, extra_args=ON_REQUEST_CAMERA)
        url = camera.url("on-request")
        onvif = onvif_fields(camera)
        devices = {
            "asks (ONVIF profile set)": str(Device.objects.create(name="asks", rtsp_url=url, live=True, **onvif).pk),
            "waits (no ONVIF profile)": str(Device.objects.create(name="waits", rtsp_url=url, live=True).pk),
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn_argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        processes.append(start(gunicorn_argv, env, work / "gunicorn.log"))
        processes.append(start([sys.executable, "manage.py", "run_stream_keeper"], env, work / "keeper.log"))
        wait_until_up(base, processes[0])
        token = get_token(base)
        wait_live(base, token, list(devices.values()))

        timings: dict[str, list[float]] = {name: [] for name in devices}
        for _ in range(args.runs):
            for name, device_id in devices.items():
                time.sleep(random.uniform(0, KEYFRAME_INTERVAL_S))  # noqa: S311
                elapsed, status, answer = capture(base, token, device_id, "?max_age=0")
                timings[name].append(elapsed)
                if status != 201 or answer.get("source") != "live":
                    failures.append(f"{name}: {status} {answer.get('source', answer.get('code'))}")
        print(f"\n## A fresh frame (?max_age=0) from a held camera over HTTP, {args.runs} alternating runs\n")
        print("| camera on /on-request (keyframe every 4 s) | p50 ms | p95 ms | mean ms |")
        print("|---|---|---|---|")
        for name, values in timings.items():
            print(ms_row([name], values))
        asks, waits = (percentile(values, 0.5) for values in timings.values())
        print(f"\n- asking / waiting at p50: {asks / waits:.2f}")
    finally:
        for process in processes:
            stop_process(process)
        if camera is not None:
            stop_process(camera.process)
    if failures:
        print("\nFAILED: " + "; ".join(failures[:10]))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
