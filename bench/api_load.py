"""API speed on a seeded PostgreSQL: every read route through gunicorn, loaded by wrk.

    createdb -h 127.0.0.1 -U postgres vas_bench
    .venv/bin/python bench/seed_snapshots.py --count 20000
    .venv/bin/python bench/api_load.py [--rounds 3] [--seconds 10] [--routes list naive]

The database is BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/vas_bench).
Each route gets a fresh gunicorn (production settings, DEBUG off), a short warm-up, then
wrk for --seconds on random paths of that route (random snapshots, cameras or pages). The
routes take turns, --rounds times, so a slow spell of this shared machine does not fall on
one route only; the table shows the median round. The server's peak RSS is the sum of its
processes' high-water marks (VmHWM). Beside the product's list, a naive list: a plain
ModelViewSet with a ModelSerializer over all fields (bench/naive_urls.py). Nothing here
asserts on time; it fails only when a route answers anything but 200.
"""

import argparse
import dataclasses
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import PRODUCTION_ENV, database_url, request, wait_until_up  # noqa: E402

WRK_SCRIPT = BASE_DIR / "bench" / "routes.lua"
PRODUCT = "vas_project.settings"
NAIVE = "bench.naive_settings"
SAMPLE_SNAPSHOTS = 2000


@dataclass(frozen=True)
class Route:
    name: str
    settings: str
    paths: list[str]


@dataclass(frozen=True, order=True)
class Result:
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    failed: int
    mb_per_s: float
    peak_rss_mb: float


def routes(snapshot_ids: list[str], device_ids: list[str], pages: int) -> list[Route]:
    snapshot = [f"/api/snapshots/{pk}" for pk in snapshot_ids]
    first_page = ["?per_page=100"]
    random_pages = [f"?per_page=100&page={number}" for number in range(1, pages + 1)]
    return [
        Route("list, first page", PRODUCT, [f"/api/snapshots/{query}" for query in first_page]),
        Route("naive list, first page", NAIVE, [f"/naive/snapshots/{query}" for query in first_page]),
        Route("list, random pages", PRODUCT, [f"/api/snapshots/{query}" for query in random_pages]),
        Route("naive list, random pages", NAIVE, [f"/naive/snapshots/{query}" for query in random_pages]),
        Route("metadata", PRODUCT, snapshot),
        Route("latest of a camera", PRODUCT, [f"/api/snapshots/device/{pk}/latest" for pk in device_ids]),
        Route("raw image (image.jpg)", PRODUCT, [f"{path}/image.jpg" for path in snapshot]),
        Route("thumbnail (thumbnail.jpg)", PRODUCT, [f"{path}/thumbnail.jpg" for path in snapshot]),
        Route("downscaled (image.jpg?width=640)", PRODUCT, [f"{path}/image.jpg?width=640" for path in snapshot]),
        Route("base64 image (image)", PRODUCT, [f"{path}/image" for path in snapshot]),
    ]


def start_gunicorn(*, settings: str, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--threads", str(threads), "--timeout", "60"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings}
    return subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def server_peak_rss_mb(pid: int) -> float:
    """The sum of the high-water RSS of gunicorn's master and its workers."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total_kb = 0
    for process in [str(pid), *children]:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def run_wrk(base: str, paths_file: Path, *, seconds: float, connections: int, token: str) -> dict[str, int]:
    argv = ["wrk", "--threads", "2", "--connections", str(connections), "--duration", f"{seconds:.0f}s"]
    argv += ["--timeout", "30s", "--script", str(WRK_SCRIPT), base, "--", str(paths_file)]
    output = subprocess.run(argv, check=True, capture_output=True, text=True, env={**os.environ, "WRK_TOKEN": token})
    line = next(line for line in output.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def measure(route: Route, *, args: argparse.Namespace, token: str, work: Path, port: int) -> Result:
    base = f"http://127.0.0.1:{port}"
    paths_file = work / "paths.txt"
    paths_file.write_text("\n".join(route.paths) + "\n")
    server = start_gunicorn(
        settings=route.settings, port=port, workers=args.workers, threads=args.threads, log=work / "gunicorn.log"
    )
    try:
        wait_until_up(base, server)
        status, _ = request(base + random.choice(route.paths), token=token)  # noqa: S311
        if status != 200:
            raise SystemExit(f"{route.name} answered {status}, not 200")
        run_wrk(base, paths_file, seconds=args.warmup, connections=args.connections, token=token)
        stats = run_wrk(base, paths_file, seconds=args.seconds, connections=args.connections, token=token)
        peak_rss_mb = server_peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()
    duration_s = stats["duration_us"] / 1e6
    return Result(
        requests_per_s=stats["requests"] / duration_s,
        p50_ms=stats["p50_us"] / 1000,
        p95_ms=stats["p95_us"] / 1000,
        failed=stats["status_errors"] + stats["socket_errors"],
        mb_per_s=stats["bytes"] / duration_s / 1e6,
        peak_rss_mb=peak_rss_mb,
    )


def median_round(rounds: list[Result]) -> Result:
    """The round with the median requests/s, with the highest peak RSS of all rounds and every failure."""
    ordered = sorted(rounds, key=lambda result: result.requests_per_s)
    middle = ordered[len(ordered) // 2]
    peak_rss_mb = max(result.peak_rss_mb for result in rounds)
    failed = sum(result.failed for result in rounds)
    return dataclasses.replace(middle, peak_rss_mb=peak_rss_mb, failed=failed)


def print_table(results: dict[str, list[Result]]) -> None:
    print("| route | requests/s (median; range) | p50 ms | p95 ms | MB/s | failed | server peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for name, rounds in results.items():
        result, low, high = median_round(rounds), min(rounds).requests_per_s, max(rounds).requests_per_s
        print(
            f"| {name} | {result.requests_per_s:.0f} ({low:.0f}-{high:.0f}) | {result.p50_ms:.1f} | "
            f"{result.p95_ms:.1f} | {result.mb_per_s:.1f} | {result.failed} | {result.peak_rss_mb:.0f} |"
        )
    print()
    for pages in ("first page", "random pages"):
        ours, naive = results.get(f"list, {pages}"), results.get(f"naive list, {pages}")
        if ours and naive:
            ratio = median_round(ours).requests_per_s / median_round(naive).requests_per_s
            print(f"- list per_page=100, {pages}: ours / naive requests/s = {ratio:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--routes", nargs="+", help="only the routes whose names start with these words")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench installs it)")

    os.environ.update(PRODUCTION_ENV, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE=PRODUCT)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from devices.models import Device
    from snapshots.models import Snapshot
    from snapshots.tests.servers import free_port

    total = Snapshot.objects.count()
    if total == 0:
        raise SystemExit("no snapshots: run bench/seed_snapshots.py first")
    # The state autovacuum keeps a live table in: no dead rows from earlier runs, fresh statistics.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE snapshots_snapshot")
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True, "is_staff": True})
    access = AccessToken.for_user(user)
    access.set_exp(lifetime=timedelta(hours=24))  # a long run outlives the default 30 minutes
    token = str(access)
    snapshot_ids = [str(pk) for pk in Snapshot.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE_SNAPSHOTS]]
    cameras = Device.objects.filter(snapshots__isnull=False).distinct()
    device_ids = [str(pk) for pk in cameras.values_list("pk", flat=True)]
    chosen = [
        route
        for route in routes(snapshot_ids, device_ids, pages=(total + 99) // 100)
        if not args.routes or route.name.startswith(tuple(args.routes))
    ]

    print(
        f"{total} snapshots in PostgreSQL; gunicorn {args.workers} workers x {args.threads} threads, DEBUG off; "
        f"wrk 2 threads, {args.connections} connections; {args.rounds} rounds, each route in turn for "
        f"{args.seconds:.0f} s after {args.warmup:.0f} s of warm-up on a fresh server; random snapshots and cameras"
    )
    print()
    work = Path(tempfile.mkdtemp(prefix="vas-api-bench-"))
    results: dict[str, list[Result]] = {route.name: [] for route in chosen}
    for number in range(1, args.rounds + 1):
        for route in chosen:
            result = measure(route, args=args, token=token, work=work, port=free_port())
            results[route.name].append(result)
            print(f"round {number}: {route.name}: {result.requests_per_s:.0f} requests/s", file=sys.stderr)
    print_table(results)
    return 1 if any(result.failed for rounds in results.values() for result in rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
