"""API speed on a seeded PostgreSQL: every read route through gunicorn, loaded by wrk.

    createdb -h 127.0.0.1 -U postgres vas_bench
    .venv/bin/python bench/seed_snapshots.py --count 20000
    .venv/bin/python bench/api_load.py [--rounds 3] [--seconds 10] [--workers 4] [--routes list naive]

The database is BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/vas_bench).
Each route gets a fresh gunicorn (production settings, DEBUG off), a short warm-up, then
wrk for --seconds on random paths of that route (random snapshots, cameras or pages). The
routes take turns, --rounds times, so a slow spell of this shared machine does not fall on
one route only; the table shows the median round. The server's peak RSS is the sum of its
processes' high-water marks (VmHWM). Beside the product's list, a naive list: a plain
ModelViewSet with a ModelSerializer over all fields (bench/naive_urls.py).

The routes: the signed image links (/signed/snapshots/{id}/{image,thumbnail}.jpg?exp&sig,
signed here with the server's DJANGO_SECRET_KEY and sent with no Authorization header), a
revalidation (If-None-Match: "{id}-image-full", answered 304) of a signed link and of the
authenticated image.jpg, and the first list page as a user who is no superuser and sees the
cameras of their group (every seeded camera, so both lists answer the same rows): the cost of
the per-camera visibility filter. Every server runs with VAS_CAMERAS_VISIBLE_TO_ALL=false (the
default with DEBUG off) but one: the same user's list with it true, which parts a non-superuser's
permission checks from the filter itself. For scale, a floor without HTTP: the image column by
primary key over 2 psycopg connections in 2 processes (SELECT image FROM snapshots_snapshot
WHERE id = %s for random ids), in the same rounds.

Nothing here asserts on time; it fails only when a route answers anything but its status (200,
or 304 for a revalidation).
"""

import argparse
import dataclasses
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import PRODUCTION_ENV, database_url, percentile, request, wait_until_up  # noqa: E402

WRK_SCRIPT = BASE_DIR / "bench" / "routes.lua"
PRODUCT = "vas_project.settings"
NAIVE = "bench.naive_settings"
SAMPLE_SNAPSHOTS = 2000
SUPERUSER = "superuser"
MEMBER = "group member"  # no superuser: sees the cameras of its group, every seeded camera
NO_AUTHORIZATION = ""
MEMBER_GROUP = "bench-viewers"
SIGNED_LINK_TTL_S = 24 * 3600  # as the token's: a long run outlives an hour
BYTEA_CONNECTIONS = 2
BYTEA = "bytea by primary key (2 connections, no HTTP)"
MEMBER_LIST = "list, first page, group member (camera filter)"
MEMBER_LIST_UNFILTERED = "list, first page, group member, VAS_CAMERAS_VISIBLE_TO_ALL=true (no camera filter)"
SIGNED_IMAGE = "signed image (signed image.jpg)"


@dataclass(frozen=True)
class Route:
    name: str
    settings: str
    paths: list[str]
    # Extra request headers, one dict per path (none when empty), such as If-None-Match.
    headers: list[dict[str, str]] = field(default_factory=list)
    # Whose bearer token the requests carry (NO_AUTHORIZATION: no Authorization header).
    user: str = SUPERUSER
    # The status every answer should have.
    status: int = 200
    # The server's environment besides the benchmark's own.
    server_env: dict[str, str] = field(default_factory=dict)
    # "wrk": HTTP through gunicorn; "bytea": no HTTP, the image column over psycopg (paths are snapshot ids).
    kind: str = "wrk"


@dataclass(frozen=True, order=True)
class Result:
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    failed: int
    mb_per_s: float
    peak_rss_mb: float
    # Answers per HTTP status, for the answers that were not the route's status.
    unexpected: dict[int, int] = field(default_factory=dict, compare=False)


def signed_path(snapshot_id: str, column: str) -> str:
    """A signed link with the product's own module, under this process's DJANGO_SECRET_KEY (the server's)."""
    from snapshots import links

    path = links.snapshot_image_path(snapshot_id=snapshot_id, column=column)
    return f"{path}?{links.signed_query(path=path, expires=links.link_expiry(ttl_s=SIGNED_LINK_TTL_S))}"


def routes(snapshot_ids: list[str], device_ids: list[str], pages: int) -> list[Route]:
    snapshot = [f"/api/snapshots/{pk}" for pk in snapshot_ids]
    first_page = ["?per_page=100"]
    random_pages = [f"?per_page=100&page={number}" for number in range(1, pages + 1)]
    signed_images = [signed_path(pk, "image") for pk in snapshot_ids]
    image_etags = [{"If-None-Match": f'"{pk}-image-full"'} for pk in snapshot_ids]
    return [
        Route("list, first page", PRODUCT, [f"/api/snapshots/{query}" for query in first_page]),
        Route(MEMBER_LIST, PRODUCT, [f"/api/snapshots/{query}" for query in first_page], user=MEMBER),
        # The same user with the filter off: what is left is a non-superuser's permission checks.
        Route(
            MEMBER_LIST_UNFILTERED,
            PRODUCT,
            [f"/api/snapshots/{query}" for query in first_page],
            user=MEMBER,
            server_env={"VAS_CAMERAS_VISIBLE_TO_ALL": "true"},
        ),
        Route("naive list, first page", NAIVE, [f"/naive/snapshots/{query}" for query in first_page]),
        Route("list, random pages", PRODUCT, [f"/api/snapshots/{query}" for query in random_pages]),
        Route("naive list, random pages", NAIVE, [f"/naive/snapshots/{query}" for query in random_pages]),
        Route("metadata", PRODUCT, snapshot),
        Route("latest of a camera", PRODUCT, [f"/api/snapshots/device/{pk}/latest" for pk in device_ids]),
        Route("raw image (image.jpg)", PRODUCT, [f"{path}/image.jpg" for path in snapshot]),
        Route(
            "raw image 304 (image.jpg, If-None-Match)",
            PRODUCT,
            [f"{path}/image.jpg" for path in snapshot],
            headers=image_etags,
            status=304,
        ),
        Route("thumbnail (thumbnail.jpg)", PRODUCT, [f"{path}/thumbnail.jpg" for path in snapshot]),
        Route(SIGNED_IMAGE, PRODUCT, signed_images, user=NO_AUTHORIZATION),
        Route(
            "signed image 304 (signed image.jpg, If-None-Match)",
            PRODUCT,
            signed_images,
            headers=image_etags,
            user=NO_AUTHORIZATION,
            status=304,
        ),
        Route(
            "signed thumbnail (signed thumbnail.jpg)",
            PRODUCT,
            [signed_path(pk, "thumbnail") for pk in snapshot_ids],
            user=NO_AUTHORIZATION,
        ),
        Route("downscaled (image.jpg?width=640)", PRODUCT, [f"{path}/image.jpg?width=640" for path in snapshot]),
        Route("base64 image (image)", PRODUCT, [f"{path}/image" for path in snapshot]),
        Route(BYTEA, PRODUCT, snapshot_ids, kind="bytea"),
    ]


def paths_file_lines(route: Route) -> list[str]:
    """routes.lua's lines: the path, then tab-separated extra headers."""
    if not route.headers:
        return route.paths
    return ["\t".join([path, *(f"{name}: {value}" for name, value in headers.items())])
            for path, headers in zip(route.paths, route.headers, strict=True)]  # fmt: skip


def start_gunicorn(
    *, settings: str, port: int, workers: int, threads: int, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--threads", str(threads), "--timeout", "60"]
    env = {**os.environ, **(env or {}), "DJANGO_SETTINGS_MODULE": settings}
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


def run_wrk(base: str, paths_file: Path, *, seconds: float, connections: int, token: str) -> dict[str, Any]:
    argv = ["wrk", "--threads", "2", "--connections", str(connections), "--duration", f"{seconds:.0f}s"]
    argv += ["--timeout", "30s", "--script", str(WRK_SCRIPT), base, "--", str(paths_file)]
    output = subprocess.run(argv, check=True, capture_output=True, text=True, env={**os.environ, "WRK_TOKEN": token})
    line = next(line for line in output.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def measure(
    route: Route, *, args: argparse.Namespace, token: str, work: Path, port: int, first_answers: dict[str, bytes]
) -> Result:
    base = f"http://127.0.0.1:{port}"
    paths_file = work / "paths.txt"
    paths_file.write_text("\n".join(paths_file_lines(route)) + "\n")
    server = start_gunicorn(
        settings=route.settings,
        port=port,
        workers=args.workers,
        threads=args.threads,
        log=work / "gunicorn.log",
        env=route.server_env,
    )
    try:
        wait_until_up(base, server)
        line = random.randrange(len(route.paths))  # noqa: S311
        headers = route.headers[line] if route.headers else None
        status, body = request(base + route.paths[line], token=token, headers=headers)
        if status != route.status:
            raise SystemExit(f"{route.name} answered {status}, not {route.status}: {body[:300]!r}")
        first_answers.setdefault(route.name, body)
        run_wrk(base, paths_file, seconds=args.warmup, connections=args.connections, token=token)
        stats = run_wrk(base, paths_file, seconds=args.seconds, connections=args.connections, token=token)
        peak_rss_mb = server_peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()
    duration_s = stats["duration_us"] / 1e6
    statuses = {int(status): count for status, count in stats["statuses"].items()}
    unexpected = {status: count for status, count in statuses.items() if status != route.status}
    return Result(
        requests_per_s=stats["requests"] / duration_s,
        p50_ms=stats["p50_us"] / 1000,
        p95_ms=stats["p95_us"] / 1000,
        failed=sum(unexpected.values()) + stats["socket_errors"],
        mb_per_s=stats["bytes"] / duration_s / 1e6,
        peak_rss_mb=peak_rss_mb,
        unexpected=unexpected,
    )


def fetch_bytea(url: str, snapshot_ids: list[str], seconds: float, seed: int) -> tuple[int, int, float, list[float]]:
    """One process, one connection: the image column of random snapshots by primary key for
    seconds; the fetches, their bytes, the time taken and each fetch's seconds."""
    import psycopg

    rng = random.Random(seed)  # noqa: S311
    ids = [uuid.UUID(pk) for pk in snapshot_ids]
    fetched = size = 0
    latencies = []
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        while (now := time.perf_counter()) - started < seconds:
            cursor.execute("SELECT image FROM snapshots_snapshot WHERE id = %s", (rng.choice(ids),))
            row = cursor.fetchone()
            assert row is not None  # noqa: S101
            size += len(row[0])
            fetched += 1
            latencies.append(time.perf_counter() - now)
        return fetched, size, time.perf_counter() - started, latencies


def measure_bytea(route: Route, *, args: argparse.Namespace) -> Result:
    """BYTEA_CONNECTIONS processes, each with its own connection, for a warm-up and then --seconds."""
    url = database_url()
    context = multiprocessing.get_context("spawn")
    with context.Pool(BYTEA_CONNECTIONS) as pool:
        pool.starmap(fetch_bytea, [(url, route.paths, args.warmup, seed) for seed in range(BYTEA_CONNECTIONS)])
        jobs = [(url, route.paths, args.seconds, random.randrange(1 << 30)) for _ in range(BYTEA_CONNECTIONS)]  # noqa: S311
        outcomes = pool.starmap(fetch_bytea, jobs)
    latencies = [latency for _, _, _, each in outcomes for latency in each]
    return Result(
        requests_per_s=sum(fetched / duration_s for fetched, _, duration_s, _ in outcomes),
        p50_ms=percentile(latencies, 0.5) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        failed=0,
        mb_per_s=sum(size / duration_s for _, size, duration_s, _ in outcomes) / 1e6,
        peak_rss_mb=math.nan,
    )


def median_round(rounds: list[Result]) -> Result:
    """The round with the median requests/s, with the highest peak RSS of all rounds and every failure."""
    ordered = sorted(rounds, key=lambda result: result.requests_per_s)
    middle = ordered[len(ordered) // 2]
    peak_rss_mb = max(result.peak_rss_mb for result in rounds)
    failed = sum(result.failed for result in rounds)
    unexpected: dict[int, int] = {}
    for result in rounds:
        for status, count in result.unexpected.items():
            unexpected[status] = unexpected.get(status, 0) + count
    return dataclasses.replace(middle, peak_rss_mb=peak_rss_mb, failed=failed, unexpected=unexpected)


def print_table(results: dict[str, list[Result]], statuses: dict[str, int]) -> None:
    print("| route | status | requests/s (median; range) | p50 ms | p95 ms | MB/s | failed | server peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rounds in results.items():
        result, low, high = median_round(rounds), min(rounds).requests_per_s, max(rounds).requests_per_s
        rss = "-" if math.isnan(result.peak_rss_mb) else f"{result.peak_rss_mb:.0f}"
        print(
            f"| {name} | {statuses[name] or '-'} | {result.requests_per_s:.0f} ({low:.0f}-{high:.0f}) | "
            f"{result.p50_ms:.1f} | {result.p95_ms:.1f} | {result.mb_per_s:.1f} | {result.failed} | {rss} |"
        )
    print()
    for name, rounds in results.items():
        if unexpected := median_round(rounds).unexpected:
            answers = ", ".join(f"{count} x {status}" for status, count in sorted(unexpected.items()))
            print(f"- {name}: answers other than {statuses[name]} over all rounds: {answers}")
    for pages in ("first page", "random pages"):
        ours, naive = results.get(f"list, {pages}"), results.get(f"naive list, {pages}")
        if ours and naive:
            ratio = median_round(ours).requests_per_s / median_round(naive).requests_per_s
            print(f"- list per_page=100, {pages}: ours / naive requests/s = {ratio:.1f}x")
    superuser_list, member_list = results.get("list, first page"), results.get(MEMBER_LIST)
    if superuser_list and member_list:
        superuser, member = median_round(superuser_list), median_round(member_list)
        overhead = superuser.requests_per_s / member.requests_per_s - 1
        print(
            f"- the camera filter on the first list page (per_page=100): {member.requests_per_s:.0f} requests/s as a "
            f"group member, {superuser.requests_per_s:.0f} as the superuser: {overhead:+.1%} time per request "
            f"(p50 {member.p50_ms:.1f} vs {superuser.p50_ms:.1f} ms)"
        )
        if unfiltered_list := results.get(MEMBER_LIST_UNFILTERED):
            unfiltered = median_round(unfiltered_list)
            print(
                f"  - of which a non-superuser's checks without the filter (VAS_CAMERAS_VISIBLE_TO_ALL=true, "
                f"{unfiltered.requests_per_s:.0f} requests/s): "
                f"{superuser.requests_per_s / unfiltered.requests_per_s - 1:+.1%}; "
                f"the filter itself: {unfiltered.requests_per_s / member.requests_per_s - 1:+.1%}"
            )
    signed, bytea = results.get(SIGNED_IMAGE), results.get(BYTEA)
    if signed and bytea:
        ratio = median_round(signed).requests_per_s / median_round(bytea).requests_per_s
        print(
            f"- signed image.jpg / bytea by primary key: {median_round(signed).requests_per_s:.0f} / "
            f"{median_round(bytea).requests_per_s:.0f} = {ratio:.2f}"
        )
    for signed_name, api_name in (
        (SIGNED_IMAGE, "raw image (image.jpg)"),
        ("signed image 304 (signed image.jpg, If-None-Match)", "raw image 304 (image.jpg, If-None-Match)"),
        ("signed thumbnail (signed thumbnail.jpg)", "thumbnail (thumbnail.jpg)"),
    ):
        if results.get(signed_name) and results.get(api_name):
            ratio = median_round(results[signed_name]).requests_per_s / median_round(results[api_name]).requests_per_s
            print(f"- {signed_name} / {api_name}: {ratio:.1f}x requests/s")


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

    # The servers inherit this environment: the same secret key signs the links here and checks them there.
    os.environ.update(
        PRODUCTION_ENV, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE=PRODUCT, VAS_CAMERAS_VISIBLE_TO_ALL="false"
    )
    import django

    django.setup()
    from django.contrib.auth.models import Group, Permission, User
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from devices.models import Device
    from snapshots import selectors
    from snapshots.models import Snapshot
    from snapshots.tests.servers import free_port

    total = Snapshot.objects.count()
    if total == 0:
        raise SystemExit("no snapshots: run bench/seed_snapshots.py first")
    # The state autovacuum keeps a live table in: no dead rows from earlier runs, fresh statistics.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE snapshots_snapshot")
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True, "is_staff": True})
    # A user who is no superuser: the view permissions and a group that every camera is in.
    group, _ = Group.objects.get_or_create(name=MEMBER_GROUP)
    for device in Device.objects.all():
        device.groups.add(group)
    member, _ = User.objects.get_or_create(username="bench-member")
    member.is_superuser = member.is_staff = False
    member.save()
    member.groups.add(group)
    view_permissions = [("devices", "view_device"), ("snapshots", "view_snapshot")]
    for app_label, codename in view_permissions:
        member.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    member = User.objects.get(pk=member.pk)  # no stale permission cache
    if selectors.snapshots_visible(rows=Snapshot.objects.all(), user=member).count() != total:
        raise SystemExit(f"{member.username} does not see every snapshot")
    tokens = {NO_AUTHORIZATION: ""}
    for name, account in ((SUPERUSER, user), (MEMBER, member)):
        access = AccessToken.for_user(account)
        access.set_exp(lifetime=timedelta(hours=24))  # a long run outlives the default 30 minutes
        tokens[name] = str(access)
    snapshot_ids = [str(pk) for pk in Snapshot.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE_SNAPSHOTS]]
    cameras = Device.objects.filter(snapshots__isnull=False).distinct()
    device_ids = [str(pk) for pk in cameras.values_list("pk", flat=True)]
    chosen = [
        route
        for route in routes(snapshot_ids, device_ids, pages=(total + 99) // 100)
        if not args.routes or route.name.startswith(tuple(args.routes))
    ]

    connection.close()  # the bytea processes and the servers open their own
    print(
        f"{total} snapshots in PostgreSQL; gunicorn {args.workers} workers x {args.threads} threads, DEBUG off; "
        f"wrk 2 threads, {args.connections} connections; {args.rounds} rounds, each route in turn for "
        f"{args.seconds:.0f} s after {args.warmup:.0f} s of warm-up on a fresh server; random snapshots and cameras"
    )
    print()
    work = Path(tempfile.mkdtemp(prefix="vas-api-bench-"))
    results: dict[str, list[Result]] = {route.name: [] for route in chosen}
    first_answers: dict[str, bytes] = {}
    for number in range(1, args.rounds + 1):
        for route in chosen:
            if route.kind == "bytea":
                result = measure_bytea(route, args=args)
            else:
                token = tokens[route.user]
                result = measure(
                    route, args=args, token=token, work=work, port=free_port(), first_answers=first_answers
                )
            results[route.name].append(result)
            print(f"round {number}: {route.name}: {result.requests_per_s:.0f} requests/s", file=sys.stderr)
    print_table(results, {route.name: route.status if route.kind == "wrk" else 0 for route in chosen})
    same_rows = same_list_rows(first_answers)
    return 1 if not same_rows or any(result.failed for rounds in results.values() for result in rounds) else 0


def same_list_rows(first_answers: dict[str, bytes]) -> bool:
    """Whether the superuser's and the group member's first list pages named the same snapshots."""
    names = [name for name in ("list, first page", MEMBER_LIST, MEMBER_LIST_UNFILTERED) if name in first_answers]
    if len(names) < 2:
        return True
    pages = [json.loads(first_answers[name]) for name in names]
    rows = [(page["count"], [row["id"] for row in page["results"]]) for page in pages]
    same = all(each == rows[0] for each in rows)
    print(f"- the {len(names)} first list pages: {'the same' if same else 'DIFFERENT'} {rows[0][0]} rows counted, "
          f"{len(rows[0][1])} on the page")  # fmt: skip
    return same


if __name__ == "__main__":
    sys.exit(main())
