"""Stream keeper scale: one keeper process holding 50, 100 and 200 cameras.

The test camera serves --paths paths of H.264 1280x720 25 fps with a keyframe every 2 s
(`--paths-media h264_720p`), and N cameras are registered round-robin on them. Each camera
is its own RTSP session, as N real cameras would be, while the test camera, on the same two
cores, relays only --paths streams (its shared media fan out to their sessions). One
`manage.py run_stream_keeper` process holds the N cameras. Once every camera has a live
frame, the keeper's CPU time (user + system, from /proc) is read over --seconds, and its
resident memory at the end. Each N gets a fresh keeper. The store is Redis (db 13,
flushed) unless --store files; the database is PostgreSQL (vas_keeper_bench, dropped and
created). Nothing here asserts on time.

    .venv/bin/python bench/keeper_scale.py [--counts 50 100 200] [--paths 20] [--seconds 30] [--store redis]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.live_http import fresh_product_database  # noqa: E402
from snapshots.tests.servers import start_test_camera, stop_process  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/13"
DATABASE = "vas_keeper_bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--paths", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--store", choices=["redis", "files"], default="redis")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-keeper-bench-"))
    store = {"VAS_LIVE_URL": REDIS_URL} if args.store == "redis" else {"VAS_LIVE_DIR": str(work / "live")}
    # PostgreSQL, as in production: the keeper writes every camera's status from its sessions.
    environment = fresh_product_database(DATABASE, VAS_LOG_LEVEL="WARNING", **store)
    from django.core.cache import caches

    from capture import live
    from devices.models import Device

    caches["live"].clear()
    most = max(args.counts)
    print(f"starting the test camera with {args.paths} 720p paths ...", file=sys.stderr)
    camera = start_test_camera(work, paths=args.paths, paths_media="h264_720p", ready_timeout_s=180)
    rows = []
    try:
        devices = [
            Device.objects.create(name=f"cam{index}", rtsp_url=camera.url(f"cam{index % args.paths}"), live=False)
            for index in range(most)
        ]
        idle_rss = measure_idle(environment)
        for count in args.counts:
            Device.objects.update(live=False)
            Device.objects.filter(pk__in=[device.pk for device in devices[:count]]).update(live=True)
            caches["live"].clear()
            rows.append((count, *measure(count, devices[:count], environment, args.seconds, live, camera.process.pid)))
    finally:
        stop_process(camera.process)

    print(
        f"stream keeper scale: one keeper process, 720p H.264 cameras (keyframe every 2 s) on {args.paths} "
        f"test-camera paths, store {args.store}"
    )
    print(f"idle keeper (no camera): {idle_rss:.0f} MB RSS")
    print(
        "| cameras | held | keeper CPU % | per camera | RSS MB | per camera above idle | up after | test camera CPU % |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count, held, cpu_percent, rss, _threads, up_s, camera_percent in rows:
        if held < count:
            # Sessions that lost their keyframes (a saturated camera server) hold no live frame:
            # per-camera figures of a keeper that is not fed would flatter it.
            print(f"| {count} | {held} | {cpu_percent:.1f} | - | {rss:.0f} | - | not all live | {camera_percent:.0f} |")
            continue
        print(
            f"| {count} | {held} | {cpu_percent:.1f} | {cpu_percent / count:.3f} % | {rss:.0f} | "
            f"{(rss - idle_rss) / count:.2f} MB | {up_s:.1f} s | {camera_percent:.0f} |"
        )
    print("held: cameras with a live session at the end; the test camera serves every session from the same two cores.")


def start_keeper(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "manage.py", "run_stream_keeper"]
    return subprocess.Popen(argv, cwd=BASE_DIR, env=environment, stdout=subprocess.DEVNULL)


def measure_idle(environment: dict[str, str]) -> float:
    keeper = start_keeper(environment)
    try:
        time.sleep(5)
        return rss_mb(keeper.pid)
    finally:
        stop_process(keeper, grace_s=30)


def measure(count, devices, environment, seconds, live, camera_pid) -> tuple[int, float, float, int, float, float]:  # type: ignore[no-untyped-def]
    keeper = start_keeper(environment)
    started = time.monotonic()
    try:
        deadline = started + 120
        held = 0
        while time.monotonic() < deadline:
            held = sum(1 for device in devices if live.live_frame(device_id=device.pk) is not None)
            if held == count:
                break
            time.sleep(1)
        up_s = time.monotonic() - started
        time.sleep(5)  # past the connection burst
        cpu_before, camera_before, wall_before = cpu_seconds(keeper.pid), cpu_seconds(camera_pid), time.monotonic()
        time.sleep(seconds)
        elapsed_s = time.monotonic() - wall_before
        cpu_percent = 100 * (cpu_seconds(keeper.pid) - cpu_before) / elapsed_s
        camera_percent = 100 * (cpu_seconds(camera_pid) - camera_before) / elapsed_s
        held = sum(1 for device in devices if live.live_session(device_id=device.pk) is not None)
        return held, cpu_percent, rss_mb(keeper.pid), threads(keeper.pid), up_s, camera_percent
    finally:
        stop_process(keeper, grace_s=30)


if __name__ == "__main__":
    main()
