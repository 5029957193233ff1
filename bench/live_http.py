"""Live capture over HTTP: gunicorn (4 workers), a Celery worker and the stream keeper together.

Against the test camera's /h264 and /bframes (1080p, keyframe every 2 s), on a fresh
PostgreSQL database (vas_live_bench, dropped and created) and Redis db 11 (live store) and
12 (Celery broker), both flushed:

1. warm capture: the reference ffmpeg command versus POST /api/snapshots/capture/{id},
   alternating, with random 0-2 s pauses, timed by this client; every answer should be live;
2. RTSP sessions: the ESTABLISHED connections to the camera's port by owning process, after
   captures through gunicorn and the Celery worker (the camera's own internal viewers are
   the camera process's);
3. keeper killed with kill -9: one client per camera captures again 0.25 s after each answer
   until it gets a one-shot frame; then the keeper is restarted and the clients go on until
   they get live frames. Beside them, the keeper's session records in the live store are
   watched every 50 ms.

Nothing here asserts on time; it exits 1 when a capture answers anything but 201, or when
the camera has other RTSP sessions than one per path from the keeper.

    .venv/bin/python bench/live_http.py [--runs 20]
"""

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.capture_latency import first_vas_capture  # noqa: E402
from bench.common import PRODUCTION_ENV, percentile, request, wait_until_up  # noqa: E402

DATABASE = "vas_live_bench"
LIVE_URL = "redis://127.0.0.1:6379/11"
BROKER_URL = "redis://127.0.0.1:6379/12"
PATHS = ("h264", "bframes")
USER, PASSWORD = "bench", "bench-password-0123"
PACE_S = 0.25
OUTAGE_LIMIT_S = 60


def fresh_product_database(database: str, **environment: str) -> dict[str, str]:
    """The production-mode environment (DEBUG off) on a fresh PostgreSQL database of that name,
    dropped and created, migrated, with the benchmark's superuser; this process runs Django
    with it too. Returns the environment for the servers the benchmark starts."""
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "vas_project.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        **environment,
    }
    os.environ.update(env)
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User.objects.create_superuser(USER, "bench@example.com", PASSWORD)
    return env


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def get_token(base: str) -> str:
    body = json.dumps({"username": USER, "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/json"}
    req = urllib.request.Request(f"{base}/api/auth/token/", data=body, headers=headers)  # noqa: S310
    with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
        return str(json.load(response)["access"])


def capture(base: str, token: str, device_id: str, query: str = "") -> tuple[float, int, dict[str, Any]]:
    """One capture over HTTP (query: e.g. "?max_age=0"): seconds taken (client side), status and
    the answer's JSON."""
    started = time.monotonic()
    status, body = request(f"{base}/api/snapshots/capture/{device_id}{query}", token=token, method="POST")
    elapsed = time.monotonic() - started
    try:
        return elapsed, status, json.loads(body)
    except ValueError:
        return elapsed, status, {"body": body[:200].decode(errors="replace")}


def wait_live(base: str, token: str, device_ids: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    for device_id in device_ids:
        while request(f"{base}/api/devices/{device_id}/live", token=token)[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"no live frame of device {device_id} after {timeout_s:.0f} s")
            time.sleep(0.5)


def owner(pid: int, roots: dict[int, str]) -> str:
    """The role of the process, or of its nearest ancestor that has one."""
    current = pid
    while current > 1:
        if current in roots:
            return roots[current]
        current = int(Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()[1])  # ppid
    return f"other (pid {pid})"


def camera_connections(port: int, roots: dict[int, str]) -> Counter[str]:
    """ESTABLISHED TCP connections to the camera's port, by owning process."""
    argv = ["ss", "-tnpH", "state", "established", f"( dport = :{port} )"]
    counts: Counter[str] = Counter()
    for line in subprocess.run(argv, check=True, capture_output=True, text=True).stdout.splitlines():
        pid = re.search(r"pid=(\d+)", line)
        counts[owner(int(pid[1]), roots) if pid else "unknown"] += 1
    return counts


def ms_row(cells: list[str], values: list[float]) -> str:
    """A table row: the cells, then p50, p95 and mean of values (seconds) in ms."""
    stats = (percentile(values, 0.5), percentile(values, 0.95), statistics.mean(values))
    return "| " + " | ".join([*cells, *(f"{1000 * value:.0f}" for value in stats)]) + " |"


def main() -> int:  # noqa: PLR0915 - one scenario, step by step
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-live-http-"))
    import redis

    for url in (LIVE_URL, BROKER_URL):
        redis.Redis.from_url(url).flushdb()
    env = fresh_product_database(
        DATABASE,
        VAS_LIVE_URL=LIVE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        # Step 3's captures would pass the default 120/min of one gunicorn worker's throttle.
        VAS_CAPTURE_RATE="100000/min",
    )
    from capture import live
    from devices.models import Device
    from snapshots.models import Snapshot
    from snapshots.tests.servers import free_port, start_test_camera, stop_process

    failures: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    camera = None
    try:
        print("starting the test camera ...", file=sys.stderr)
        camera = start_test_camera(work)
        # live=True explicitly: VAS_LIVE_DEFAULT may be off in the caller's environment.
        created = [Device.objects.create(name=path, rtsp_url=camera.url(path), live=True) for path in PATHS]
        devices = {path: str(device.pk) for path, device in zip(PATHS, created, strict=True)}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn_argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi", "-w", "4", "-b", f"127.0.0.1:{port}"]
        gunicorn = start(gunicorn_argv, env, work / "gunicorn.log")
        processes.append(gunicorn)
        roots = {camera.process.pid: "test camera (internal viewers)", gunicorn.pid: "gunicorn", os.getpid(): "bench"}
        celery = None
        if (BASE_DIR / "vas_project" / "celery.py").exists():
            celery_argv = [str(BASE_DIR / ".venv/bin/celery"), "-A", "vas_project", "worker", "--concurrency", "2"]
            celery = start(celery_argv, env, work / "celery.log")
            processes.append(celery)
            roots[celery.pid] = "celery worker"
        else:
            print("note: no vas_project/celery.py, so no Celery worker")
        keeper_argv = [sys.executable, "manage.py", "run_stream_keeper"]
        keeper_env = {**env, "VAS_LOG_LEVEL": "INFO"}  # its log tells of every session that failed
        keeper = start(keeper_argv, keeper_env, work / "keeper.log")
        processes.append(keeper)
        roots[keeper.pid] = "stream keeper"
        wait_until_up(base, gunicorn)
        token = get_token(base)
        wait_live(base, token, list(devices.values()))

        # 1. Warm capture.
        print(f"\n## Warm capture over HTTP, {args.runs} alternating runs per path, random 0-2 s pauses\n")
        print("| path | side | p50 ms | p95 ms | mean ms |")
        print("|---|---|---|---|---|")
        notes = []
        for path, device_id in devices.items():
            theirs, ours, ages, others = [], [], [], []
            for _ in range(args.runs):
                time.sleep(random.uniform(0, 2))  # noqa: S311
                theirs.append(first_vas_capture(camera.url(path), work))
                time.sleep(random.uniform(0, 2))  # noqa: S311
                elapsed, status, answer = capture(base, token, device_id)
                ours.append(elapsed)
                if status != 201:
                    failures.append(f"warm /{path}: {status} {answer}")
                ages.append(float(answer.get("frame_age_ms") or 0))
                if answer.get("source") != "live":
                    others.append(f"{answer.get('source', answer.get('code'))} in {elapsed * 1000:.0f} ms")
            print(ms_row([f"/{path}", "theirs: reference ffmpeg"], theirs))
            print(ms_row([f"/{path}", "ours: POST capture"], ours))
            ratio = percentile(ours, 0.5) / percentile(theirs, 0.5)
            notes.append(
                f"- /{path}: ours/theirs at p50 = {ratio:.3f}; source live {args.runs - len(others)}/{args.runs}"
                f" (others: {', '.join(others) or 'none'}); frame_age_ms p50 {percentile(ages, 0.5):.0f}"
            )
        print("\n" + "\n".join(notes))

        # 2. RTSP sessions, after a capture through the Celery worker as well.
        celery_sources: dict[object, str] = {}
        if celery is not None:
            from snapshots.tasks import capture_device

            for device_id in devices.values():
                capture_device.delay(device_id)
            deadline = time.monotonic() + 60
            while len(celery_sources) < len(devices) and time.monotonic() < deadline:
                scheduled = Snapshot.objects.filter(trigger=Snapshot.Trigger.SCHEDULE)
                celery_sources = dict(scheduled.values_list("device_id", "source"))
                time.sleep(0.5)
        time.sleep(1)  # every ffmpeg of step 1 has closed its connection
        counts = camera_connections(camera.port, roots)
        print(f"\n## ESTABLISHED connections to the camera (port {camera.port}), by owning process\n")
        print("| process | connections |")
        print("|---|---|")
        names = ["stream keeper", "gunicorn", "celery worker", "bench", "test camera (internal viewers)"]
        for name in [*names, *(name for name in counts if name not in names)]:
            print(f"| {name} | {counts[name]} |")
        print(f"\nCelery capture_device sources: {sorted(celery_sources.values())}")
        held = []
        for path, device_id in devices.items():
            session = live.live_session(device_id=uuid.UUID(device_id))
            held += [path] if session else []
            interval = f"keyframe interval {session.keyframe_interval_s:.2f} s" if session else "none"
            print(f"- /{path}: the keeper's session record: {interval}")
        # Each held camera has its own session (its own connection): N connections for N held paths is 1 each.
        outside = sum(counts.values()) - counts["stream keeper"] - counts["test camera (internal viewers)"]
        one_each = counts["stream keeper"] == len(held) == len(devices) and outside == 0
        verdict = "1 per camera path, the keeper's" if one_each else "NOT 1 per camera path: see the table"
        print(f"- sessions: {verdict} ({counts['stream keeper']} keeper connections, {len(held)} paths held)")
        if not one_each:
            failures.append(f"RTSP sessions not 1 per camera path: {dict(counts)}, held {held}")

        # 3. Keeper killed, then restarted. All times are seconds after the kill.
        keeper.send_signal(signal.SIGKILL)
        keeper.wait()
        killed_at = time.monotonic()
        events: list[tuple[str, float, float, int, str]] = []  # path, answered at, took, status, source
        sessions: list[tuple[str, float, bool]] = []  # path, at, session record present
        watching = threading.Event()
        watching.set()

        def watch_sessions() -> None:
            present = dict.fromkeys(devices, True)
            while watching.is_set():
                for path, device_id in devices.items():
                    now_present = live.live_session(device_id=uuid.UUID(device_id)) is not None
                    if now_present != present[path]:
                        sessions.append((path, time.monotonic() - killed_at, now_present))
                        present[path] = now_present
                time.sleep(0.05)

        def client(path: str, until_source: str) -> None:
            """Capture 0.25 s after each answer until one comes from until_source (or 60 s pass)."""
            deadline = time.monotonic() + OUTAGE_LIMIT_S
            while time.monotonic() < deadline:
                elapsed, status, answer = capture(base, token, devices[path])
                source = str(answer.get("source") or answer.get("code"))
                events.append((path, time.monotonic() - killed_at, elapsed, status, source))
                if status != 201:
                    failures.append(f"after the kill, /{path}: {status} {answer}")
                elif source == until_source:
                    return
                time.sleep(PACE_S)

        watcher = threading.Thread(target=watch_sessions, daemon=True)
        watcher.start()
        with ThreadPoolExecutor(len(devices)) as pool:
            list(pool.map(client, devices, ["oneshot"] * len(devices)))
            keeper = start(keeper_argv, keeper_env, work / "keeper.log")
            processes.append(keeper)
            restarted_s = time.monotonic() - killed_at
            list(pool.map(client, devices, ["live"] * len(devices)))
        watching.clear()
        watcher.join()

        print(f"\n## Keeper killed (kill -9) at 0 s, restarted at {restarted_s:.2f} s; one client per camera\n")
        print("| path | captures | failed | session record gone at s | first oneshot answer at s | ", end="")
        print("session record back at s | first live answer (after restart) at s |")
        print("|---|---|---|---|---|---|---|")
        for path in PATHS:
            mine = [event for event in events if event[0] == path]
            failed = sum(1 for event in mine if event[3] != 201)
            gone = min((at for name, at, present in sessions if name == path and not present), default=None)
            back = min((at for name, at, present in sessions if name == path and present), default=None)
            oneshot = min((at for _, at, _, _, source in mine if source == "oneshot"), default=None)
            again = min((at for _, at, _, _, source in mine if source == "live" and at > restarted_s), default=None)
            cells = [
                str(len(mine)),
                str(failed),
                *("never" if at is None else f"{at:.2f}" for at in (gone, oneshot, back, again)),
            ]
            print(f"| /{path} | {' | '.join(cells)} |")
        print("\ncaptures in a row with the same answer (answered at s after the kill):")
        for path in PATHS:
            runs: list[list[tuple[str, float, float, int, str]]] = []
            for event in (event for event in events if event[0] == path):
                if runs and runs[-1][-1][3:] == event[3:]:
                    runs[-1].append(event)
                else:
                    runs.append([event])
            for run in runs:
                took = sorted(1000 * event[2] for event in run)
                print(
                    f"- /{path} {run[0][1]:.2f}-{run[-1][1]:.2f} s: {len(run)} x {run[0][3]} {run[0][4]}, "
                    f"each {took[0]:.0f}-{took[-1]:.0f} ms"
                )
        keeper_log = (work / "keeper.log").read_text(errors="replace")
        print(f"\nkeeper log: {keeper_log.count('live session to device')} failed sessions")
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                stop_process(process, grace_s=20)
        if camera is not None:
            stop_process(camera.process)
    if failures:
        print("\nfailures:\n" + "\n".join(f"- {count} x {failure}" for failure, count in Counter(failures).items()))
    print(f"\nlogs in {work}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
