"""Run every benchmark on this machine and write docs/benchmarks.md (make bench).

    .venv/bin/python bench/run_all.py [--output docs/benchmarks.md] [--only api image ...]

Each benchmark is its own script, run as printed in the report; this one records the machine,
the versions and each script's tables. Nothing asserts on time: the run fails only when a
benchmark itself fails (a non-200 answer, a lost capture, a camera that would not start).
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import database_url  # noqa: E402

PYTHON = ".venv/bin/python"
# Its own database: pruning leaves dead rows that would slow the API benchmark's table.
PRUNE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vas_prune"


@dataclass(frozen=True)
class Benchmark:
    key: str
    title: str
    about: str
    commands: list[list[str]]
    database_url: str = ""


BENCHMARKS = [
    Benchmark(
        "capture",
        "One-shot capture over HTTP: the reference ffmpeg command versus POST capture on gunicorn",
        "gunicorn (4 workers) on PostgreSQL, no stream keeper, live mode off: every capture is a one-shot grab. "
        "20 alternating runs per codec layout of the realistic test camera (none sends a keyframe on join): "
        "H.264 1080p, H.264 High with B-frames 1080p, H.265 with B-frames 720p (keyframe every 2 s) and H.264 "
        "720p with a keyframe every 4 s; and /on-request, a camera that speaks ONVIF (live H.264 High with B-frames, "
        "720p, a keyframe every 4 s and one whenever asked), whose device has its ONVIF profile so that our grab "
        "asks for a keyframe; each run after a random pause of up to one keyframe interval, timed by "
        "the client. Target: one-shot <= 0.5x theirs at p50 on every path.",
        [[PYTHON, "bench/oneshot_http.py", "--runs", "20"]],
    ),
    Benchmark(
        "fresh",
        "A fresh frame from a held camera over HTTP: asking an ONVIF camera for a keyframe versus waiting",
        "gunicorn (2 workers) and `run_stream_keeper` on PostgreSQL, the live store in files; the test camera's "
        "/on-request (live H.264 High with B-frames, 720p, a keyframe every 4 s and one whenever its ONVIF service "
        "asks) registered twice, with its ONVIF profile and without; `POST /api/snapshots/capture/{id}?max_age=0` "
        "on each, 20 alternating runs after random pauses of up to one keyframe interval, timed by the client.",
        [[PYTHON, "bench/fresh_http.py", "--runs", "20"]],
    ),
    Benchmark(
        "live",
        "Warm capture through HTTP: the stream keeper, gunicorn, a Celery worker",
        "gunicorn (4 workers), a Celery worker and `run_stream_keeper` on PostgreSQL and Redis; 20 alternating "
        "runs with random pauses of the reference command versus `POST /api/snapshots/capture/{id}` timed by "
        "the client, on /h264 and /bframes (1080p). Then the RTSP sessions each camera path sees, and the keeper "
        "killed with kill -9 and started again. Target: warm p50 <= 100 ms and <= 0.05x theirs; one "
        "session per camera; one-shot captures within 5 s of the kill; live again within a keyframe interval.",
        [[PYTHON, "bench/live_http.py"]],
    ),
    Benchmark(
        "keeper",
        "Stream keeper scale: one keeper process holding 50, 100 and 200 cameras",
        "720p H.264 cameras (25 fps, keyframe every 2 s) registered round-robin on 20 test-camera paths, each "
        "its own RTSP session; the keeper's CPU time over 30 s and its RSS, store Redis. Goal: "
        "<= 0.5 % of a core and <= 10 MB per camera at 200 cameras.",
        [[PYTHON, "bench/keeper_scale.py", "--counts", "50", "100", "200"]],
    ),
    Benchmark(
        "batch",
        "Batch capture: 32 cameras in one batch call",
        "One `snapshot_capture_many` call over 32 paths of the test camera (640x360, keyframe every 0.2 s), "
        "the camera server on the same 2 cores.",
        [[PYTHON, "bench/batch_capture.py", "--cameras", "32", "--concurrency", "4", "8", "16"]],
    ),
    Benchmark(
        "api",
        "API with 20,000 snapshots in PostgreSQL",
        "20,000 snapshots of 20 cameras, real 1080p frames of 70-100 KB with their thumbnails, seeded by "
        "`bench/seed_snapshots.py`; gunicorn (production settings) loaded by wrk on the same 2 cores, every "
        "route on a fresh server, the routes taking turns for 3 rounds (the median round is shown). The naive "
        "list is a plain `ModelViewSet` with a `ModelSerializer` over all fields (`bench/naive_urls.py`). "
        "Target: our list >= 10x the naive one's requests/s at per_page=100.",
        [
            [PYTHON, "bench/seed_snapshots.py", "--count", "20000"],
            [PYTHON, "bench/api_load.py", "--rounds", "3", "--seconds", "10"],
        ],
    ),
    Benchmark(
        "signed",
        "Signed image links, revalidation and the camera filter, 2 gunicorn workers",
        "The same 20,000 snapshots; 2 gunicorn sync workers. Signed image and thumbnail links with no "
        "Authorization header, their 304 revalidation, the authenticated image routes beside them, the first "
        "list page as a group member with and without the camera filter, and the image column fetched by "
        "primary key over 2 psycopg connections without HTTP. Targets: signed image.jpg >= 1,000 requests/s, "
        "its 304 >= 2,000, signed thumbnail >= 1,200; the camera filter <= +10 % on the list.",
        [
            [
                PYTHON,
                "bench/api_load.py",
                "--workers",
                "2",
                "--rounds",
                "3",
                "--seconds",
                "10",
                "--routes",
                "signed",
                "raw image",
                "thumbnail",
                "list, first page",
                "bytea",
            ],
        ],
    ),
    Benchmark(
        "jobs",
        "A batch of 200 cameras as a job",
        "200 cameras round-robin on 20 test-camera paths, gunicorn (2 workers) on PostgreSQL without a broker, "
        "so the job runs in the web worker that took the request, 8 captures at a time; every capture a one-shot grab. "
        "POST /api/snapshots/capture/ {all, async} then GET /api/jobs/{id} every 0.5 s.",
        [[PYTHON, "bench/batch_job.py", "--cameras", "200"]],
    ),
    Benchmark(
        "export",
        "Exports of 1,000 stored frames over HTTP: an MP4 timelapse and a zip",
        "One camera with 1,000 snapshots 5 s apart (real 1920x1080 frames of 70-100 KB, 50 distinct ones "
        "reused in turn) on PostgreSQL; gunicorn (2 workers, production settings) without a broker, so the "
        "export runs in a thread of the web worker that took the request, on the same 2 cores as the "
        "database. `POST /api/exports/` for the whole range as a timelapse at 25 fps (full size, then "
        "width 1280) and as a zip, each on a fresh server; GET /api/jobs/{id} every 0.5 s; the file "
        "downloaded through the signed link and counted with ffprobe or zipfile. Peak RSS is the VmHWM of "
        "the worker that ran the job, reset before the request. The issue's goal is only to report the "
        "time and the peak RSS: no target.",
        [[PYTHON, "bench/export_timelapse.py", "--frames", "1000"]],
    ),
    Benchmark(
        "wall",
        "The camera wall in Chromium: first full paint of 32 cameras and one refresh round",
        "The demo's server (runserver, SQLite), 32 cameras with a 1080p snapshot each; Chromium via Playwright, "
        "5 cold loads, then one refresh round counted in the server's log. Target: first full paint "
        "<= 1 s; a round costs one request per camera, 304s when no frame changed.",
        [[PYTHON, "bench/wall_paint.py", "--cameras", "32", "--runs", "5"]],
    ),
    Benchmark(
        "image",
        "Image work per 1080p frame",
        "Pillow on a real 1920x1080 frame of the test camera: the stored thumbnail, `?width=` downscales "
        "(JPEG draft mode) and the validation every capture runs.",
        [[PYTHON, "bench/image_work.py", "--runs", "50"]],
    ),
    Benchmark(
        "prune",
        "Retention on 100,000 rows",
        "100,000 snapshots of one camera seeded, then pruned by `snapshot_prune_device` in its own process.",
        [
            [PYTHON, "bench/prune_rows.py", "seed", "--rows", "100000"],
            [PYTHON, "bench/prune_rows.py", "prune"],
        ],
        database_url=PRUNE_DATABASE_URL,
    ),
    Benchmark(
        "million",
        "The list routes and a prune on 1,000,000 snapshots",
        "A database of its own (vas_million, dropped and created): 20 cameras and 1,000,000 rows seeded by one "
        "INSERT ... SELECT over generate_series, 30 days of rows, each with the same small JPEG (64x36, 686 "
        "bytes; the list routes never read it), camera 0 holding 150,000 and the others about 44,700 each; "
        "VACUUM ANALYZE. gunicorn (2 workers, production settings); each route 3 untimed requests, then 30 "
        "sequential ones timed by the client: the list of all cameras' snapshots (per_page 100: first, middle and "
        "last page; the default 10: first, 5000th, middle and last page), one camera's list (first page, 4/5 of "
        "the way, last page), the device_id filter (first and last page), the snapshot at a moment (nearest, "
        "before), GET /api/storage and the camera list "
        "with its storage figures; 50 next links followed when the lists have cursor pagination. Then "
        "`manage.py prune_snapshots` deletes 100,000 of camera 0's rows (retention_max_snapshots 50,000) in its "
        "own process: wall time and peak RSS, beside its --dry-run's; the rows are put back afterwards. "
        "Targets, judged on the p50: every list route's first page <= 50 ms, deep pages <= 100 ms; "
        "the prune's memory flat. `--reuse` keeps a database seeded before (it still runs migrate, timed).",
        [[PYTHON, "bench/million_rows.py"]],
    ),
    Benchmark(
        "encryption",
        "Images encrypted at rest: the cost per image and on the image routes",
        "Two databases of its own, dropped and created: vas_encryption_bench with 500 real 1080p snapshots "
        "(70-100 KB JPEGs and their 320 px thumbnails, seeded as `bench/seed_snapshots.py` does, stored plain) "
        "and vas_encryption_bench_on, a copy whose rows `manage.py reencrypt_snapshots` encrypts; one Fernet key "
        "generated for the run. In-process, 1,000 timed calls each: what a capture adds (`image_seal` of the "
        "image and its thumbnail) and what a request adds (`image_unseal`), on the seeded frames and on a "
        "larger one (JPEG quality 100). `reencrypt_snapshots` timed in its own process (rows/s over what the "
        "same command with nothing to move takes), 5 runs between the two states, each checked. Over HTTP: "
        "gunicorn (2 workers, production settings) loaded by wrk (16 connections) on random snapshots of "
        "image.jpg, its signed link and thumbnail.jpg, each measure on a fresh server: off (plain rows, "
        "VAS_IMAGE_ENCRYPTION=false) and on (encrypted rows, true) back to back, 5 rounds; every answer "
        "checked is the plain image's bytes. Each measure first waits (up to 120 s) until other processes "
        "take < 0.1 cores, and the CPU they took during it is shown. Targets: a capture adds "
        "<= 2 ms per 1080p image (p95); image.jpg's requests/s with encryption on >= 0.90 x off (medians).",
        [[PYTHON, "bench/encryption_cost.py"]],
    ),
    Benchmark(
        "still",
        "A camera's still-image URL against the one-shot RTSP grab and the live frame, over HTTP",
        "One test-camera path (/h264, 1080p, keyframe every 2 s, none on join) registered three times: read "
        "one-shot over RTSP, held by the stream keeper, and through its snapshot URL, served by a local HTTP "
        "server with Basic authentication answering a 1080p JPEG of that camera. gunicorn (2 workers) on "
        "PostgreSQL, the keeper publishing into files; 20 rounds, the three captures in random order, each after "
        "a random pause of up to one keyframe interval, timed by the client. The issue sets no number: it asks "
        "for the comparison.",
        [[PYTHON, "bench/still_http.py", "--runs", "20"]],
    ),
    Benchmark(
        "metrics",
        "What the Prometheus request metrics cost on the metadata route, over HTTP",
        "A database of its own (vas_metrics_bench, dropped and created) with 2,000 real 1080p snapshots of 20 "
        "cameras seeded as `bench/seed_snapshots.py` does; gunicorn (2 workers, production settings) loaded by wrk "
        "(16 connections) on `GET /api/snapshots/{id}` of random snapshots with a bearer token, each measure on a "
        "fresh server: metrics off (VAS_METRICS=false: no request middleware, /metrics 404) and on (VAS_METRICS=true "
        "in multiprocess mode, as production runs: PROMETHEUS_MULTIPROC_DIR a fresh empty directory per server) back "
        "to back, which goes first alternating, 5 rounds; each state's figures are the medians of its rounds. Each "
        "measure first waits (up to 120 s) until other processes take < 0.1 cores. After each load with metrics on, "
        "one scrape of /metrics from 127.0.0.1, timed by the client, with its bytes and samples, checked to count "
        "every answer wrk had; beside requests/s and latency, gunicorn's CPU time per request. Goal: "
        "overhead = 1 - on / off of the median requests/s <= 5 %.",
        [[PYTHON, "bench/metrics_overhead.py"]],
    ),
    Benchmark(
        "load",
        "Mixed load: 50 clients for 60 s",
        "gunicorn (4 workers x 4 threads) on PostgreSQL; each client loops over list, metadata, latest, "
        "image.jpg, thumbnail.jpg and capture. Fails on any 5xx or a 201 capture missing from the database.",
        [[PYTHON, "bench/loadtest.py", "--clients", "50", "--seconds", "60"]],
    ),
]


def first_line(argv: list[str]) -> str:
    # Not check=True: `wrk --version` prints its version and exits 1.
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return f"{argv[0]}: not found"
    line = ((result.stdout or result.stderr).strip().splitlines() or ["?"])[0]
    return line.split(" Copyright")[0]


def machine_lines() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown CPU")
    memory_gib = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    names = ("Django", "djangorestframework", "Pillow", "psycopg", "gunicorn")
    packages = ", ".join(f"{name} {version(name)}" for name in names)
    postgres = first_line(["psql", database_url(), "-tAc", "SHOW server_version"])
    commit = first_line(["git", "rev-parse", "--short", "HEAD"])
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}",
        f"- CPU: {cpu}, {os.cpu_count()} cores; {memory_gib:.0f} GiB memory; {platform.platform()}",
        f"- Python {platform.python_version()}; {packages}",
        f"- PostgreSQL {postgres}; {first_line(['ffmpeg', '-version'])}; {first_line(['wrk', '--version'])}",
        "- Everything (server, database, test camera, load generator) shares these cores.",
    ]


def run(argv: list[str], *, env: dict[str, str]) -> tuple[int, str]:
    """Run one benchmark command, echoing its output, and return its exit code and stdout."""
    print(f"$ {' '.join(argv)}", flush=True)
    process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None  # noqa: S101 - stdout=PIPE
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    return process.wait(), "".join(lines)


def section(benchmark: Benchmark) -> tuple[bool, list[str]]:
    env = dict(os.environ)
    if benchmark.database_url:
        env["DATABASE_URL"] = benchmark.database_url
    lines = [f"## {benchmark.title}", "", benchmark.about, ""]
    ok = True
    for argv in benchmark.commands:
        started = time.monotonic()
        code, output = run(argv, env=env)
        prefix = f"DATABASE_URL={benchmark.database_url} " if benchmark.database_url else ""
        lines += ["```sh", f"{prefix}{' '.join(argv)}   # {time.monotonic() - started:.0f} s", "```", ""]
        lines += [output.rstrip(), ""]
        if code != 0:
            ok = False
            lines += [f"**Failed with exit code {code}.**", ""]
    return ok, lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default="docs/benchmarks.md")
    parser.add_argument("--only", nargs="+", choices=[benchmark.key for benchmark in BENCHMARKS])
    args = parser.parse_args()
    chosen = [benchmark for benchmark in BENCHMARKS if not args.only or benchmark.key in args.only]

    report = ["# Benchmarks", "", "Written by `make bench` (`bench/run_all.py`); nothing here is edited by hand.", ""]
    report += [*machine_lines(), ""]
    failed = []
    for benchmark in chosen:
        ok, lines = section(benchmark)
        report += lines
        if not ok:
            failed.append(benchmark.key)
    output = BASE_DIR / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(report).rstrip() + "\n")
    print(f"wrote {output}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
