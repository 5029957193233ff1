"""Batch capture: one batch of 32 cameras (32 paths of the test camera) at several concurrencies.

    .venv/bin/python bench/batch_capture.py [--cameras 32] [--concurrency 4 8 16]

Prints the wall time of each batch and the per-device p50/p95. Nothing here asserts on time.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=32)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8, 16])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from devices.models import Device
    from snapshots.services import snapshot_capture_many
    from snapshots.tests.servers import start_test_camera, stop_process

    call_command("migrate", verbosity=0)
    camera = start_test_camera(work, paths=args.cameras)
    try:
        devices = [
            Device.objects.create(name=f"cam{i}", rtsp_url=camera.url(f"cam{i}"), live=False)
            for i in range(args.cameras)
        ]
        print(f"batch capture of {args.cameras} cameras (640x360 H.264, keyframe every 0.2 s)")
        print("| concurrency | wall s | per-device p50 s | p95 s | failed |")
        print("|---|---|---|---|---|")
        for concurrency in args.concurrency:
            started = time.monotonic()
            results = snapshot_capture_many(devices=devices, trigger="command", concurrency=concurrency)
            wall = time.monotonic() - started
            elapsed = sorted(r.elapsed_s or 0.0 for r in results)
            failed = sum(1 for r in results if r.error is not None)
            p50, p95 = statistics.median(elapsed), percentile(elapsed, 0.95)
            print(f"| {concurrency} | {wall:.2f} | {p50:.2f} | {p95:.2f} | {failed} |")
    finally:
        stop_process(camera.process)


if __name__ == "__main__":
    main()
