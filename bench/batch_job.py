"""A batch capture as a job over HTTP: 200 cameras of the test camera server, asked for with
`POST /api/snapshots/capture/ {"all": true, "async": true}` and followed with GET /api/jobs/{id}.

gunicorn (2 workers, production settings) on a fresh PostgreSQL database (vas_jobs_bench, dropped
and created), no broker: the job runs in the web worker that took the request, 8 captures at a
time (VAS_CAPTURE_CONCURRENCY). The cameras are registered round-robin on the test camera's
--paths paths (/cam0...), as in the keeper's scale benchmark (it does not start with hundreds of
paths on 2 cores): each capture is its own RTSP session. H.264 1280x720 with a keyframe every
2 s, none sent on join; live mode is off, so every capture is a one-shot grab. Reported: the time
to the 202, the job's wall time (the client's, from the request to the state "succeeded"), each
camera's capture time from its row (p50, p95), and how often the progress moved while polling.

    .venv/bin/python bench/batch_job.py [--cameras 200] [--paths 20]

Nothing here asserts on time; it exits 1 when the job does not succeed or a camera fails.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import percentile, request, wait_until_up  # noqa: E402
from bench.live_http import fresh_product_database, get_token, start  # noqa: E402

DATABASE = "vas_jobs_bench"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--paths", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-batch-job-"))
    env = fresh_product_database(DATABASE, VAS_LIVE_DEFAULT="false", CELERY_BROKER_URL="")
    from devices.models import Device
    from snapshots.tests.servers import free_port, start_test_camera, stop_process

    failures: list[str] = []
    camera = gunicorn = None
    try:
        print(f"starting the test camera with {args.paths} paths ...", file=sys.stderr)
        camera = start_test_camera(work, paths=args.paths, paths_media="h264_720p")
        for index in range(args.cameras):
            path = f"cam{index % args.paths}"
            Device.objects.create(name=f"cam{index:03d}", rtsp_url=camera.url(path), live=False)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        gunicorn = start(argv, env, work / "gunicorn.log")
        wait_until_up(base, gunicorn)
        token = get_token(base)

        import urllib.request

        body = json.dumps({"all": True, "async": True}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        asked = time.monotonic()
        ask = urllib.request.Request(f"{base}/api/snapshots/capture/", data=body, headers=headers)  # noqa: S310
        with urllib.request.urlopen(ask, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
            accepted_s = time.monotonic() - asked
            job = json.load(response)
        progress_seen = set()
        while True:
            status, answer = request(f"{base}/api/jobs/{job['id']}", token=token)
            job = json.loads(answer)
            progress_seen.add(job["progress"]["done"])
            if job["state"] not in ("queued", "running"):
                break
            if time.monotonic() - asked > 900:
                failures.append("the job did not finish in 15 min")
                break
            time.sleep(0.5)
        wall_s = time.monotonic() - asked
        rows = job["result"].get("results", [])
        elapsed = [row["elapsed_ms"] for row in rows if "elapsed_ms" in row]
        failed = [row for row in rows if not row["ok"]]
        if job["state"] != "succeeded":
            failures.append(f"the job ended {job['state']}: {job['error']}")
        if failed:
            codes = sorted({row["code"] for row in failed})
            failures.append(f"{len(failed)} of {len(rows)} cameras failed ({', '.join(codes)})")
        print(f"\n## A batch of {args.cameras} cameras as a job (embedded runner, 2 gunicorn workers)\n")
        print("| measure | value |")
        print("|---|---|")
        print(f"| 202 with the job after | {accepted_s * 1000:.0f} ms |")
        print(f"| job wall time (request to succeeded, client side) | {wall_s:.1f} s |")
        print(f"| cameras captured | {len(rows) - len(failed)} of {len(rows)} |")
        print(
            f"| per-camera capture p50 / p95 | {percentile(elapsed, 0.5):.0f} ms / {percentile(elapsed, 0.95):.0f} ms |"
        )
        print(f"| distinct progress values seen while polling every 0.5 s | {len(progress_seen)} |")
    finally:
        if gunicorn is not None:
            stop_process(gunicorn)
        if camera is not None:
            stop_process(camera.process)
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
