"""Load test: gunicorn on PostgreSQL, 50 concurrent clients listing, fetching images and capturing.

    make loadtest        # or: .venv/bin/python bench/loadtest.py --clients 50 --seconds 60

Passes (exit 0) when no answer was a 5xx and every capture answered 201 is in the database;
prints p50/p95 per route. Traffic goes to 127.0.0.1 only.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import percentile, request, wait_until_up  # noqa: E402

DATABASE_URL = os.getenv("LOADTEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vas_load")


def client(base: str, token: str, device_id: str, snapshot_ids: list[str], deadline: float, stats, created) -> None:
    while time.monotonic() < deadline:
        snapshot_id = random.choice(snapshot_ids)  # noqa: S311
        route, url, method = random.choice(  # noqa: S311
            [
                ("list", f"{base}/api/snapshots/?per_page=100", "GET"),
                ("metadata", f"{base}/api/snapshots/{snapshot_id}", "GET"),
                ("image.jpg", f"{base}/api/snapshots/{snapshot_id}/image.jpg", "GET"),
                ("thumbnail.jpg", f"{base}/api/snapshots/{snapshot_id}/thumbnail.jpg", "GET"),
                ("latest", f"{base}/api/snapshots/device/{device_id}/latest", "GET"),
                ("capture", f"{base}/api/snapshots/capture/{device_id}?force=true", "POST"),
            ]
        )
        started = time.monotonic()
        status, body = request(url, token=token, method=method)
        stats[route].append((status, time.monotonic() - started))
        if route == "capture" and status == 201:
            created.append(json.loads(body)["id"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    os.environ.update(DATABASE_URL=DATABASE_URL, DJANGO_SETTINGS_MODULE="vas_project.settings")
    os.environ.update(VAS_CAPTURE_RATE="100000/min", VAS_LOGIN_RATE="1000/min")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import RefreshToken

    from devices.models import Device
    from snapshots.models import Snapshot
    from snapshots.services import snapshot_capture
    from snapshots.tests.servers import free_port, start_test_camera, stop_process

    call_command("migrate", verbosity=0)
    work = Path(tempfile.mkdtemp(prefix="vas-load-"))
    camera = start_test_camera(work)
    port = free_port()
    gunicorn = subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "4", "--threads", "4", "--timeout", "60"],
        cwd=BASE_DIR, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=(work / "gunicorn.log").open("wb"),
    )  # fmt: skip
    try:
        user, _ = User.objects.get_or_create(username="loadtest", defaults={"is_superuser": True, "is_staff": True})
        token = str(RefreshToken.for_user(user).access_token)
        device, _ = Device.objects.get_or_create(name="loadtest", defaults={"rtsp_url": camera.url("fast")})
        Device.objects.filter(pk=device.pk).update(rtsp_url=camera.url("fast"))
        device.refresh_from_db()
        snapshot_ids = [str(snapshot_capture(device=device, trigger="command", force=True).pk) for _ in range(5)]
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, gunicorn)
        stats: dict[str, list[tuple[int, float]]] = defaultdict(list)
        created: list[str] = []
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(base, token, str(device.pk), snapshot_ids, deadline, stats, created))
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gunicorn.terminate()
        gunicorn.wait()
        stop_process(camera.process)

    print(f"{args.clients} clients for {args.seconds:.0f} s against gunicorn (4 workers x 4 threads) on PostgreSQL")
    print("| route | requests | p50 ms | p95 ms | statuses |")
    print("|---|---|---|---|---|")
    server_errors = 0
    for route, rows in sorted(stats.items()):
        times = [elapsed * 1000 for _, elapsed in rows]
        statuses: dict[int, int] = defaultdict(int)
        for status, _ in rows:
            statuses[status] += 1
            server_errors += status >= 500
        shown = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
        print(f"| {route} | {len(rows)} | {percentile(times, 0.5):.0f} | {percentile(times, 0.95):.0f} | {shown} |")
    # Concurrent captures of one camera share one snapshot, so ids repeat.
    unique = set(created)
    missing = len(unique) - Snapshot.objects.filter(pk__in=unique).count()
    print(
        f"5xx answers: {server_errors}; captures answered 201: {len(created)} "
        f"({len(unique)} distinct snapshots), missing from the database: {missing}"
    )
    return 0 if server_errors == 0 and missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
