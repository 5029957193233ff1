"""Exports over HTTP: a timelapse of 1,000 stored frames, and a zip of the same frames,
asked for with `POST /api/exports/` and followed with GET /api/jobs/{id}, then downloaded through
the job's signed link.

gunicorn (2 workers, production settings) on a fresh PostgreSQL database (vas_export_bench,
dropped and created), no broker: the export runs in a thread of the web worker that took the
request. One camera with N snapshots 5 s apart, real 1920x1080 frames of the test camera as JPEGs
of 70-100 KB with their thumbnails (50 distinct frames reused in turn, as bench/seed_snapshots.py
seeds them). Each export gets a fresh gunicorn: the MP4 at full size, the MP4 at --width px (0:
not run) and the zip, all of the whole range, the MP4s at --fps.

Reported per export: the time to the 202, the wall time from the request to the state
"succeeded" (client side, polled every 0.5 s) and the job's own run time (started_at to
finished_at), frames per second, the file's size, the download through the signed link, the
file as ffprobe (MP4) or zipfile (zip) reads it, and the memory of the gunicorn worker that ran
the job: its VmRSS before the request, its peak (VmHWM, reset before the request through
/proc/<pid>/clear_refs) and its VmRSS as the frames go by, from /proc/<pid>/status.

    .venv/bin/python bench/export_timelapse.py [--frames 1000] [--fps 25] [--width 1280]

Nothing here asserts on time; it exits 1 when an export does not succeed, or when the file
downloaded does not hold every frame.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import request, wait_until_up  # noqa: E402
from bench.live_http import fresh_product_database, get_token, start  # noqa: E402

DATABASE = "vas_export_bench"
INTERVAL_S = 5
DISTINCT_FRAMES = 50
POLL_S = 0.5
TIMEOUT_S = 900
MB = 1024 * 1024


@dataclass
class Outcome:
    label: str
    accepted_s: float = 0.0
    wall_s: float = 0.0
    run_s: float = 0.0
    state: str = ""
    frames: int = 0
    size: int = 0
    download_s: float = 0.0
    content: str = ""
    counted_frames: int = 0
    rss_before_kb: int = 0
    hwm_kb: int = 0
    other_hwm_kb: int = 0
    rss_at: dict[int, int] = field(default_factory=dict)  # percent of the frames done: the job worker's VmRSS
    rss_after_kb: int = 0
    progress_seen: int = 0


def seed(frames: int) -> tuple[str, datetime, datetime, str]:
    """One camera with frames snapshots INTERVAL_S apart, the newest now: its id, the range
    [start, end) holding them all, and a line about them."""
    from django.utils import timezone

    from bench.seed_snapshots import decoded_frames, jpeg_in_size_range
    from devices.models import Device
    from snapshots import images
    from snapshots.models import Snapshot

    started = time.monotonic()
    jpegs = [jpeg_in_size_range(frame) for frame in decoded_frames(DISTINCT_FRAMES)]
    rows = [(data, images.resize_jpeg(data, max_width_px=320), images.inspect_jpeg(data)) for data in jpegs]
    device = Device.objects.create(name="export-bench", rtsp_url="rtsp://127.0.0.1:9/export-bench", live=False)
    first = timezone.now().replace(microsecond=0) - timedelta(seconds=INTERVAL_S * (frames - 1))
    batch = []
    for number in range(frames):
        image, thumbnail, info = rows[number % len(rows)]
        batch.append(
            Snapshot(device=device, image=image, thumbnail=thumbnail, width=info.width, height=info.height,
                     file_size=len(image), trigger=Snapshot.Trigger.SCHEDULE,
                     captured_at=first + timedelta(seconds=number * INTERVAL_S))
        )  # fmt: skip
    Snapshot.objects.bulk_create(batch, batch_size=200)
    sizes = sorted(len(image) for image, _, _ in rows)
    line = (
        f"seeded {frames} snapshots of one camera, {INTERVAL_S} s apart, in {time.monotonic() - started:.0f} s: "
        f"{len(rows)} distinct 1920x1080 frames of {sizes[0]}-{sizes[-1]} bytes reused in turn "
        f"({sum(len(rows[n % len(rows)][0]) for n in range(frames)) / MB:.0f} MB of JPEGs)"
    )
    last = first + timedelta(seconds=(frames - 1) * INTERVAL_S)
    return str(device.pk), first, last + timedelta(seconds=1), line


def workers(master: int) -> list[int]:
    """The gunicorn master's children (its workers)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        return [int(pid) for pid in children.read_text().split()]
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB (empty once it has exited)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = (line.split(":", 1) for line in lines)
    return {key: int(value.split()[0]) for key, value in fields if key in ("VmRSS", "VmHWM")}


def warm_up(base: str, token: str) -> None:
    """Requests from 8 clients at once, so that both workers have loaded the URLconf (and with it
    the export code and PyAV) before their memory is read."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: request(f"{base}/api/jobs/", token=token), range(40)))


def export(base: str, token: str, pids: list[int], body: dict[str, Any], outcome: Outcome, work: Path) -> list[str]:
    """One export from the request to the file downloaded and checked; the failures found."""
    failures: list[str] = []
    before = {pid: memory_kb(pid)["VmRSS"] for pid in pids}
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    samples: dict[int, list[tuple[int, int]]] = {pid: [] for pid in pids}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    asked = time.monotonic()
    ask = urllib.request.Request(f"{base}/api/exports/", data=json.dumps(body).encode(), headers=headers)  # noqa: S310
    with urllib.request.urlopen(ask, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
        outcome.accepted_s = time.monotonic() - asked
        location = response.headers["Location"]
        job = json.load(response)
    if response.status != 202 or location != job["urls"]["self"]:
        failures.append(f"{outcome.label}: answered {response.status}, Location {location}")
    progress_seen = set()
    while True:
        status, answer = request(f"{base}/api/jobs/{job['id']}", token=token)
        job = json.loads(answer)
        done = job["progress"]["done"]
        progress_seen.add(done)
        for pid in pids:
            samples[pid].append((done, memory_kb(pid).get("VmRSS", 0)))
        if job["state"] not in ("queued", "running"):
            break
        if time.monotonic() - asked > TIMEOUT_S:
            failures.append(f"{outcome.label}: the job did not finish in {TIMEOUT_S} s")
            return failures
        time.sleep(POLL_S)
    outcome.wall_s = time.monotonic() - asked
    outcome.state = job["state"]
    outcome.progress_seen = len(progress_seen)
    peaks = {pid: memory_kb(pid).get("VmHWM", 0) for pid in pids}
    if job["state"] != "succeeded":
        failures.append(f"{outcome.label}: the job ended {job['state']}: {job['error']}")
        return failures
    if 0 in peaks.values():
        failures.append(f"{outcome.label}: a gunicorn worker exited during the export (timeout?)")
    # The worker that ran the job is the one whose memory rose most.
    runner = max(pids, key=lambda pid: peaks[pid] - before[pid])
    outcome.rss_before_kb, outcome.hwm_kb = before[runner], peaks[runner]
    outcome.other_hwm_kb = max((peaks[pid] for pid in pids if pid != runner), default=0)
    total = job["progress"]["total"] or 1
    for percent in (25, 50, 75):
        at = next((rss for done, rss in samples[runner] if done * 100 >= percent * total), 0)
        outcome.rss_at[percent] = at
    outcome.rss_after_kb = samples[runner][-1][1]
    started, finished = (datetime.fromisoformat(job[name]) for name in ("started_at", "finished_at"))
    outcome.run_s = (finished - started).total_seconds()
    result = job["result"]
    outcome.frames, outcome.size = result["frames"], result["bytes"]

    # The download, through the signed link with no Authorization header.
    path = work / f"{job['id']}.download"
    started_download = time.monotonic()
    with urllib.request.urlopen(base + result["download_url"], timeout=120) as response, path.open("wb") as out:  # noqa: S310
        content_type = response.headers["Content-Type"]
        while chunk := response.read(MB):
            out.write(chunk)
    outcome.download_s = time.monotonic() - started_download
    if path.stat().st_size != result["bytes"] or content_type != result["content_type"]:
        failures.append(
            f"{outcome.label}: downloaded {path.stat().st_size} bytes of {content_type}, result says {result}"
        )
    if result["kind"] == "zip":
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            outcome.counted_frames = len(entries)
            outcome.content = f"{len(entries)} JPEGs, {sum(entry.file_size for entry in entries) / MB:.1f} MB stored"
    else:
        argv = ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-of", "json", "-show_entries"]
        argv += ["stream=codec_name,profile,width,height,pix_fmt,avg_frame_rate,nb_read_frames,duration", str(path)]
        stream = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)["streams"][0]
        outcome.counted_frames = int(stream.get("nb_read_frames", 0))
        outcome.content = (
            f"{stream['codec_name']} ({stream.get('profile', '?')}) {stream['width']}x{stream['height']} "
            f"{stream['pix_fmt']}, {stream['avg_frame_rate']} fps, {float(stream['duration']):.1f} s"
        )
    path.unlink()
    return failures


def print_table(frames: int, outcomes: list[Outcome]) -> None:
    def row(name: str, cells: list[str]) -> None:
        print("| " + " | ".join([name, *cells]) + " |")

    def mb(kb: int) -> str:
        return f"{kb / 1024:.0f} MB"

    print(f"\n## Exports of {frames} stored 1080p frames over HTTP (embedded runner, 2 gunicorn workers)\n")
    row("measure", [outcome.label for outcome in outcomes])
    print("|" + "---|" * (len(outcomes) + 1))
    row("202 with the job after", [f"{o.accepted_s * 1000:.0f} ms" for o in outcomes])
    row("export wall time (request to succeeded, client side)", [f"{o.wall_s:.1f} s" for o in outcomes])
    row("job run time (started_at to finished_at)", [f"{o.run_s:.1f} s" for o in outcomes])
    row("frames / s (client wall time)", [f"{o.frames / o.wall_s:.0f}" if o.wall_s else "-" for o in outcomes])
    row("frames in the result / in the file", [f"{o.frames} / {o.counted_frames}" for o in outcomes])
    row("file", [o.content for o in outcomes])
    row("file size", [f"{o.size / MB:.1f} MB" for o in outcomes])
    row("download through the signed link", [f"{o.download_s * 1000:.0f} ms" for o in outcomes])
    row("job worker VmRSS before the request", [mb(o.rss_before_kb) for o in outcomes])
    row("job worker peak RSS (VmHWM)", [mb(o.hwm_kb) for o in outcomes])
    row("peak RSS increase over before", [mb(o.hwm_kb - o.rss_before_kb) for o in outcomes])
    row(
        "job worker VmRSS at 25 / 50 / 75 % of the frames",
        [" / ".join(mb(o.rss_at.get(percent, 0)) for percent in (25, 50, 75)) for o in outcomes],
    )
    row("job worker VmRSS after the job", [mb(o.rss_after_kb) for o in outcomes])
    row("other worker peak RSS (VmHWM)", [mb(o.other_hwm_kb) for o in outcomes])
    row("distinct progress values seen while polling every 0.5 s", [str(o.progress_seen) for o in outcomes])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--width", type=int, default=1280, help="a second timelapse this wide; 0: none")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-export-bench-"))
    env = fresh_product_database(
        DATABASE, CELERY_BROKER_URL="", VAS_LIVE_DEFAULT="false", VAS_EXPORT_DIR=str(work / "exports")
    )
    from snapshots.tests.servers import free_port, stop_process

    print(f"seeding {args.frames} snapshots ...", file=sys.stderr)
    device_id, start_at, end_at, seeded = seed(args.frames)
    print(seeded)
    whole = {"device_id": device_id, "start": start_at.isoformat(), "end": end_at.isoformat()}
    runs = [("timelapse 1920 px", {**whole, "kind": "timelapse", "fps": args.fps})]
    if args.width:
        runs.append(
            (f"timelapse {args.width} px", {**whole, "kind": "timelapse", "fps": args.fps, "width": args.width})
        )
    runs.append(("zip", {**whole, "kind": "zip"}))

    failures: list[str] = []
    outcomes = []
    for label, body in runs:
        # A fresh server for each export: its workers' memory owes nothing to the one before.
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        gunicorn = start(argv, env, work / "gunicorn.log")
        try:
            wait_until_up(base, gunicorn)
            token = get_token(base)
            warm_up(base, token)
            pids = workers(gunicorn.pid)
            if len(pids) != 2:
                raise SystemExit(f"gunicorn has {len(pids)} workers, not 2")
            print(f"{label} ...", file=sys.stderr)
            outcome = Outcome(label)
            failures += export(base, token, pids, body, outcome, work)
            if outcome.state == "succeeded" and outcome.counted_frames != args.frames:
                failures.append(f"{label}: {outcome.counted_frames} frames in the file, not {args.frames}")
            outcomes.append(outcome)
        finally:
            stop_process(gunicorn)
            shutil.rmtree(work / "exports", ignore_errors=True)  # up to hundreds of MB; the log stays
    print_table(args.frames, outcomes)
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
