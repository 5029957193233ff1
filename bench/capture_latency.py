"""Capture latency: the reference ffmpeg command versus snapshot_capture.

Runs both alternately against the realistic test camera (H.264 1080p25, keyframe
every 2 s, none on join) and prints p50/p95 of each. Ours is a one-shot grab (live mode
off, no stream keeper); bench/live_http.py measures warm captures. Nothing here asserts on time.

    .venv/bin/python bench/capture_latency.py [--runs 20] [--path h264]
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import percentile  # noqa: E402


def first_vas_capture(url: str, out_dir: Path) -> float:
    """The reference command: one ffmpeg process per snapshot."""
    started = time.monotonic()
    argv = ["ffmpeg", "-y", "-rtsp_transport", "tcp", "-i", url, "-vframes", "1", "-f", "image2"]
    subprocess.run([*argv, str(out_dir / "a.jpg")], check=True, capture_output=True, timeout=60)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--path", default="h264")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from devices.models import Device
    from snapshots.services import snapshot_capture
    from snapshots.tests.servers import start_test_camera, stop_process

    call_command("migrate", verbosity=0)
    camera = start_test_camera(work)
    try:
        url = camera.url(args.path)
        device = Device.objects.create(name="bench", rtsp_url=url, live=False)
        theirs, ours = [], []
        for _ in range(args.runs):
            # A random pause, so neither command stays in step with the 2 s keyframe period.
            time.sleep(random.uniform(0, 2))  # noqa: S311
            theirs.append(first_vas_capture(url, work))
            time.sleep(random.uniform(0, 2))  # noqa: S311
            started = time.monotonic()
            snapshot_capture(device=device, trigger="command")
            ours.append(time.monotonic() - started)
    finally:
        stop_process(camera.process)
    print(f"one-shot capture latency, {args.runs} alternating runs on /{args.path}")
    print("| command | p50 s | p95 s | mean s |")
    print("|---|---|---|---|")
    for name, values in (("reference ffmpeg", theirs), ("snapshot_capture", ours)):
        p50, p95, mean = percentile(values, 0.5), percentile(values, 0.95), statistics.mean(values)
        print(f"| {name} | {p50:.2f} | {p95:.2f} | {mean:.2f} |")
    print(f"ratio of p50s: {percentile(ours, 0.5) / percentile(theirs, 0.5):.2f}")


if __name__ == "__main__":
    main()
