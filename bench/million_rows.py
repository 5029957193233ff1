"""The list routes and a prune on 1,000,000 snapshots, measured over HTTP.

A PostgreSQL database of its own (vas_million, dropped and created), 20 cameras and 1,000,000
snapshot rows seeded by one `INSERT ... SELECT ... FROM generate_series`: 30 days of rows 2.6 s
apart, the newest now, each with the same small real JPEG (64x36) and thumbnail (32x18), trigger
schedule, source oneshot, not kept, stored unencrypted. Camera 0 holds 15 % of the rows (150,000;
the rows with n % 20 < 3), the other 19 share the rest (about 44,700 each, n % 19 picks one).
Then VACUUM ANALYZE. Seeding and the first VACUUM take about 35 s on 2 cores: `--reuse` keeps a
database seeded before (with the same --rows), runs `migrate` on it (so new migrations, e.g. new
indexes, apply; timed), re-inserts camera 0's rows that a prune deleted (same times as seeded,
new ids) and runs VACUUM ANALYZE; without a complete database it seeds afresh. The whole run
takes about 9 minutes while the camera list answers in 7 s (4 of them are its 33 requests).

gunicorn (2 sync workers, production settings) and a superuser's JWT; each route gets
--warmup untimed requests, then --requests sequential ones timed by this client (a new
connection each: gunicorn's sync workers close it after every answer). Reported: p50 and p95
against the issue's targets, judged on the p50: every list route's first page <= 50 ms, deep
pages <= 100 ms (the other routes have no target). The routes: the list of all cameras'
snapshots (per_page 100 and the default), one camera's list (camera 1), the same camera through
the list's device_id filter, the camera's snapshot at a moment 15 days back (nearest, before),
GET /api/storage and the camera list (whose storage figures sum every camera's rows). When the
list answers with cursor links (`?cursor=`), the next links are followed --walk times from the
first page, each request timed; else the table says cursor pagination is not available. The
first page's `count` and `count_is_estimate` (when the answer has it) are printed.

Last, the prune: camera 0 keeps at most a third of its rows (retention_max_snapshots 50,000), and
`manage.py prune_snapshots` deletes the other 100,000 in its own process, under /usr/bin/time -v
for its peak RSS, beside the same command's --dry-run (which loads the same code and deletes
nothing) for a baseline. The deleted rows are then put back (and VACUUM ANALYZE), so the database
is left with its 1,000,000 rows for the next --reuse.

    .venv/bin/python bench/million_rows.py [--reuse] [--rows 1000000] [--requests 30] [--warmup 3] [--walk 50]

Nothing here asserts on time; it exits 1 when a request answers anything but 200, or when the
prune fails or deletes another number of rows than expected.
"""

import argparse
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import PRODUCTION_ENV, percentile, request, wait_until_up  # noqa: E402
from bench.live_http import PASSWORD, USER, fresh_product_database, get_token, start  # noqa: E402

DATABASE = "vas_million"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
CAMERAS = 20
SPAN = timedelta(days=30)
# What the product's own settings would prune or change: off, whatever the caller's environment says.
ENVIRONMENT = {
    "CELERY_BROKER_URL": "",
    "VAS_LIVE_DEFAULT": "false",
    "VAS_IMAGE_ENCRYPTION": "false",
    "VAS_PAGE_SIZE": "10",
    "VAS_RETENTION_DAYS": "0",
    "VAS_RETENTION_MAX_SNAPSHOTS": "0",
    "VAS_RETENTION_MAX_BYTES": "0",
}
FIRST_PAGE_TARGET_MS = 50
DEEP_PAGE_TARGET_MS = 100
MB = 1024 * 1024

# Row n (1..rows) is camera 0's when n % 20 < 3, else camera 1 + n % 19's (ids[1] is camera 0);
# it was captured (rows - n) steps before the newest. {where} narrows the rows (the top-up).
SEED_SQL = """
INSERT INTO snapshots_snapshot (
    id, device_id, image, thumbnail, content_type, width, height, file_size, captured_at,
    trigger, keep, source, frame_age_ms, triggered_by_id, key_id
)
SELECT gen_random_uuid(),
       CASE WHEN mod(n, 20) < 3 THEN cameras.ids[1] ELSE cameras.ids[2 + mod(n, 19)] END,
       %(image)s, %(thumbnail)s, 'image/jpeg', %(width)s, %(height)s, %(file_size)s,
       %(newest)s - (%(rows)s - n) * %(step)s,
       'schedule', false, 'oneshot', 0, NULL, ''
FROM generate_series(1, %(rows)s) AS n, (SELECT %(ids)s::uuid[] AS ids) AS cameras
{where}
"""
# Camera 0's rows older than its oldest one left: those a prune deleted.
TOP_UP_WHERE = """
WHERE mod(n, 20) < 3
  AND %(newest)s - (%(rows)s - n) * %(step)s
      < (SELECT min(captured_at) FROM snapshots_snapshot WHERE device_id = cameras.ids[1])
"""
# The columns SEED_SQL fills; a NOT NULL column without a default outside them would fail it.
SEEDED_COLUMNS = set(re.findall(r"\w+", SEED_SQL.split("(", 2)[1].split(")")[0]))


def camera_of(n: int) -> int:
    return 0 if n % 20 < 3 else 1 + n % 19


def expected_counts(rows: int) -> list[int]:
    counts = [0] * CAMERAS
    for n in range(1, rows + 1):
        counts[camera_of(n)] += 1
    return counts


def camera_name(index: int) -> str:
    return f"million-{index:02d}"


def small_jpegs() -> tuple[bytes, bytes]:
    """A real 64x36 JPEG (two gradients) and its 32x18 thumbnail."""
    from PIL import Image

    def jpeg(width: int, height: int, quality: int) -> bytes:
        ramp = Image.linear_gradient("L")
        bands = (
            ramp.resize((width, height)),
            ramp.rotate(90).resize((width, height)),
            Image.new("L", (width, height), 96),
        )
        out = io.BytesIO()
        Image.merge("RGB", bands).save(out, "JPEG", quality=quality, optimize=True)
        return out.getvalue()

    return jpeg(64, 36, 95), jpeg(32, 18, 70)  # 686 and 358 bytes


def reuse_refusal(rows: int) -> str | None:
    """Why the database cannot be reused for this many rows, or None when it can: its cameras
    are there with the seeded counts (camera 0's may be short by a prune)."""
    import psycopg

    try:
        connection = psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://"), connect_timeout=5)
    except psycopg.OperationalError as error:
        return f"cannot connect to {DATABASE} ({str(error).strip().splitlines()[-1]})"
    with connection:
        try:
            found = connection.execute(
                "SELECT d.name, (SELECT count(*) FROM snapshots_snapshot s WHERE s.device_id = d.id)"
                " FROM devices_device d ORDER BY d.name"
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return "it has no snapshot table"
    expected = expected_counts(rows)
    if [name for name, _ in found] != [camera_name(index) for index in range(CAMERAS)]:
        return f"its cameras are not the {CAMERAS} seeded ones"
    counts = [count for _, count in found]
    if counts[1:] != expected[1:] or not 0 < counts[0] <= expected[0]:
        return f"its row counts are not those of --rows {rows} ({sum(counts)} rows)"
    return None


def reused_database(**environment: str) -> tuple[dict[str, str], float]:
    """The environment of fresh_product_database on the existing database, migrated (timed),
    with the benchmark's superuser."""
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "vas_project.settings",
        "DATABASE_URL": DATABASE_URL,
        **environment,
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    migrate_s = time.monotonic() - started
    if not User.objects.filter(username=USER).exists():
        User.objects.create_superuser(USER, "bench@example.com", PASSWORD)
    return env, migrate_s


def check_columns() -> None:
    """Stop with a clear message when the table has a NOT NULL column the seed does not fill."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'snapshots_snapshot'"
            " AND is_nullable = 'NO' AND column_default IS NULL"
        )
        missing = sorted({name for (name,) in cursor.fetchall()} - SEEDED_COLUMNS)
    if missing:
        raise SystemExit(f"snapshots_snapshot has NOT NULL columns the seed does not fill: {', '.join(missing)}")


def insert_rows(*, rows: int, camera_ids: list[Any], newest: datetime, top_up: bool) -> int:
    """SEED_SQL (with TOP_UP_WHERE when top_up): how many rows it inserted."""
    from django.db import connection

    image, thumbnail = small_jpegs()
    params: dict[str, Any] = {
        "image": image,
        "thumbnail": thumbnail,
        "width": 64,
        "height": 36,
        "file_size": len(image),
        "newest": newest,
        "rows": rows,
        "step": SPAN / rows,
        "ids": camera_ids,
    }
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL.format(where=TOP_UP_WHERE if top_up else ""), params)
        return int(cursor.rowcount)


def vacuum_analyze() -> float:
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE snapshots_snapshot")
    return time.monotonic() - started


def top_up(rows: int, camera_ids: list[Any]) -> tuple[int, float]:
    """Camera 0's rows deleted by a prune, inserted again with their seeded times: how many, and the seconds."""
    from django.db.models import Max

    from snapshots.models import Snapshot

    started = time.monotonic()
    newest = Snapshot.objects.aggregate(newest=Max("captured_at"))["newest"]
    inserted = insert_rows(rows=rows, camera_ids=camera_ids, newest=newest, top_up=True)
    return inserted, time.monotonic() - started


def table_sizes() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_table_size('snapshots_snapshot'), pg_indexes_size('snapshots_snapshot'),"
            " (SELECT count(*) FROM pg_indexes WHERE tablename = 'snapshots_snapshot')"
        )
        table, indexes, count = cursor.fetchone()
    return f"table {table / MB:.0f} MB, {count} indexes {indexes / MB:.0f} MB"


@dataclass
class Timing:
    label: str
    request: str
    target_ms: int | None
    times: list[float]

    def row(self) -> str:
        if not self.times:
            return f"| {self.label} | `{self.request}` | failed | | | |"
        p50, p95 = (1000 * percentile(self.times, fraction) for fraction in (0.5, 0.95))
        target = f"<= {self.target_ms}" if self.target_ms else "-"
        met = "-" if not self.target_ms else ("yes" if p50 <= self.target_ms else "**no**")
        return f"| {self.label} | `{self.request}` | {p50:.1f} | {p95:.1f} | {target} | {met} |"


class Client:
    """Timed GETs on the server under test; any answer but 200 is a failure."""

    def __init__(self, base: str, token: str, names: dict[str, str], args: argparse.Namespace) -> None:
        self.base, self.token, self.names = base, token, names
        self.warmup, self.runs, self.walk = args.warmup, args.requests, args.walk
        self.failures: list[str] = []

    def shown(self, path: str) -> str:
        for name, value in self.names.items():
            path = path.replace(value, "{" + name + "}")
        return path

    def get(self, path: str) -> tuple[float, int, bytes]:
        started = time.monotonic()
        status, body = request(self.base + path, token=self.token)
        return time.monotonic() - started, status, body

    def timed(self, label: str, path: str, target_ms: int | None) -> tuple[Timing, Any]:
        """--warmup requests, then --requests timed ones: their timing and the last answer's JSON."""
        timing = Timing(label, self.shown(path), target_ms, [])
        print(f"{label}: {timing.request} ...", file=sys.stderr)
        body = b""
        for number in range(self.warmup + self.runs):
            elapsed, status, body = self.get(path)
            if status != 200:
                self.failures.append(f"{timing.request}: {status} {body[:200].decode(errors='replace')}")
                timing.times = []
                return timing, None
            if number >= self.warmup:
                timing.times.append(elapsed)
        return timing, json.loads(body)

    def local(self, link: str) -> str:
        """A link of an answer as a path on the server under test (never another host)."""
        parts = urllib.parse.urlsplit(link)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def cursor_walk(self, label: str, path: str, steps: int) -> tuple[Timing | None, str]:
        """Follow the next links from path (a cursor-paginated first page) steps times, each timed;
        None and why when the route has no cursor pagination."""
        elapsed, status, body = self.get(path)
        answer = json.loads(body) if status == 200 else {}
        first = answer.get("next") if isinstance(answer, dict) else None
        # A page-number list keeps the query it was given: its next link has "cursor=&page=2".
        if status != 200 or not first or not cursor_of(first):
            return None, f"`{self.shown(path)}` answered {status}, next link {first and self.shown(first)!r}"
        for _ in range(min(self.warmup, steps)):  # an untimed walk of a few pages
            _, status, body = self.get(self.local(first))
            if status != 200:
                break
        timing = Timing(label, self.shown(path) + " then next x " + str(steps), DEEP_PAGE_TARGET_MS, [])
        link: str | None = first
        while link and len(timing.times) < steps:
            elapsed, status, body = self.get(self.local(link))
            if status != 200:
                self.failures.append(f"cursor walk {self.shown(link)}: {status} {body[:200].decode(errors='replace')}")
                return timing, "failed"
            timing.times.append(elapsed)
            link = json.loads(body).get("next")
        return timing, f"{len(timing.times)} pages after the first"


def cursor_of(link: str) -> str:
    """The link's cursor parameter, when it has one with a value and no page number."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    return "" if "page" in query else query.get("cursor", [""])[0]


def count_line(label: str, answer: Any) -> str:
    if not isinstance(answer, dict):
        return f"- {label}: no answer"
    flag = f"`{answer['count_is_estimate']}`" if "count_is_estimate" in answer else "absent"
    return f"- {label}: count {answer.get('count')}, count_is_estimate {flag}, {len(answer.get('results', []))} results"


def measure(client: Client, totals: dict[str, int], ids: dict[str, str], middle: datetime) -> list[str]:
    """Every route's timing as table rows, then the notes (counts, cursor pagination)."""
    rows: list[Timing] = []
    notes: list[str] = []
    total, own = totals["all"], totals["camera 1"]

    def pages(path: str, per_page: int | None, count: int, label: str, numbers: list[int]) -> None:
        last = max(1, math.ceil(count / (per_page or 10)))
        sep = "&" if "?" in path else "?"
        size = f"{sep}per_page={per_page}" if per_page else ""
        for number in dict.fromkeys(min(last, number) for number in [*numbers, last]):
            query = "" if number == 1 else f"&page={number}" if size else f"{sep}page={number}"
            what = "first page" if number == 1 else ("last page" if number == last else f"page {number}")
            target = FIRST_PAGE_TARGET_MS if number == 1 else DEEP_PAGE_TARGET_MS
            timing, answer = client.timed(f"{label}, {what} of {last}", path + size + query, target)
            rows.append(timing)
            if number == 1:
                notes.append(count_line(f"{label}, first page", answer))

    middle_100 = max(1, math.ceil(total / 100) // 2)  # 5000 of 10000
    pages("/api/snapshots/", 100, total, "all cameras, per_page 100", [1, middle_100])
    pages("/api/snapshots/", None, total, "all cameras, default per_page", [1, middle_100, math.ceil(total / 10) // 2])
    device = f"/api/snapshots/device/{ids['camera 1']}/"
    pages(device, 100, own, "camera 1", [1, math.ceil(own / 100) * 4 // 5])
    pages(f"/api/snapshots/?device_id={ids['camera 1']}", 100, own, "device_id filter", [1])
    moment = urllib.parse.quote(middle.isoformat())
    client.names["moment"] = moment
    rows.append(client.timed("camera 1 at a moment, nearest", f"{device}at?time={moment}", None)[0])
    rows.append(client.timed("camera 1 at a moment, before", f"{device}at?time={moment}&direction=before", None)[0])
    rows.append(client.timed("storage totals", "/api/storage", None)[0])
    devices, answer = client.timed(
        "cameras with storage, per_page 20", "/api/devices/?per_page=20", FIRST_PAGE_TARGET_MS
    )
    rows.append(devices)
    notes.append(count_line("cameras, first page", answer))

    for label, path in (
        ("cursor walk, all cameras", "/api/snapshots/?per_page=100&cursor="),
        ("cursor walk, camera 1", f"{device}?per_page=100&cursor="),
    ):
        walk, about = client.cursor_walk(label, path, client.walk)
        if walk is None:
            notes.append(f"- {label}: cursor pagination: not available ({about})")
        else:
            rows.append(walk)
            notes.append(f"- {label}: cursor pagination available, {about}")
    return [timing.row() for timing in rows] + [""] + notes


@dataclass
class Run:
    wall_s: float
    peak_rss_kb: int
    code: int
    output: str


def manage(argv: list[str], env: dict[str, str]) -> Run:
    """One manage.py command in its own process: its wall time and peak RSS (/usr/bin/time -v;
    without it, the largest RSS of this process's children so far)."""
    import resource

    time_binary = shutil.which("time", path="/usr/bin:/bin")
    command = [sys.executable, "manage.py", *argv]
    started = time.monotonic()
    result = subprocess.run(
        [time_binary, "-v", *command] if time_binary else command, cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    wall_s = time.monotonic() - started
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    peak = int(found[1]) if found else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    output = result.stdout + ("" if result.returncode == 0 else result.stderr[-2000:])
    return Run(wall_s, peak, result.returncode, output)


def prune(env: dict[str, str], camera: Any, rows: int, camera_ids: list[Any]) -> tuple[list[str], list[str]]:
    """Camera 0 down to a third of its rows by prune_snapshots, then its rows put back: the
    table's lines and the failures."""
    from snapshots.models import Snapshot

    failures = []
    before = Snapshot.objects.filter(device=camera).count()
    keep = expected_counts(rows)[0] // 3
    camera.retention_max_snapshots = keep
    camera.save(update_fields=["retention_max_snapshots"])
    print(f"prune: camera 0 keeps {keep} of {before} ...", file=sys.stderr)
    try:
        dry = manage(["prune_snapshots", "--dry-run"], env)
        run = manage(["prune_snapshots"], env)
    finally:
        camera.retention_max_snapshots = None
        camera.save(update_fields=["retention_max_snapshots"])
    after = Snapshot.objects.filter(device=camera).count()
    total = Snapshot.objects.count()
    deleted = re.search(r"deleted (\d+) snapshot\(s\) in all", run.output)
    for name, outcome in (("prune_snapshots --dry-run", dry), ("prune_snapshots", run)):
        if outcome.code != 0:
            failures.append(f"{name} exited {outcome.code}: {outcome.output.strip()[-500:]}")
    if not deleted or int(deleted[1]) != before - keep or after != keep:
        failures.append(f"prune: {before} rows before, {after} after (keeping {keep}); it said {run.output!r}")
    print("prune: putting the rows back ...", file=sys.stderr)
    restored, restore_s = top_up(rows, camera_ids)
    vacuum_s = vacuum_analyze()
    if restored != before - after:
        failures.append(f"prune: {restored} rows put back, not {before - after}")
    lines = [
        f"| camera 0's rows before / after (retention_max_snapshots {keep:,}) | {before:,} / {after:,} |",
        f"| rows deleted (the command's own count) | {int(deleted[1]):,} |" if deleted else "| rows deleted | ? |",
        f"| prune_snapshots wall time (process start to exit) | {run.wall_s:.1f} s |",
        f"| prune_snapshots --dry-run wall time (the same start, deletes nothing) | {dry.wall_s:.1f} s |",
        f"| prune_snapshots peak RSS | {run.peak_rss_kb / 1024:.0f} MB |",
        f"| prune_snapshots --dry-run peak RSS (baseline) | {dry.peak_rss_kb / 1024:.0f} MB |",
        f"| peak RSS over the dry run's | {(run.peak_rss_kb - dry.peak_rss_kb) / 1024:+.0f} MB |",
        f"| rows in the table after the prune | {total:,} |",
        f"| rows put back afterwards, then VACUUM ANALYZE | {restored:,} in {restore_s:.1f} s, {vacuum_s:.1f} s |",
    ]
    return lines, failures


def warm_workers(client: Client) -> None:
    """Requests from 6 clients at once, so that both workers have loaded everything before timing."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: client.get("/api/snapshots/?per_page=1"), range(12)))


def main() -> int:  # noqa: PLR0915 - one scenario, step by step
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep vas_million when it holds --rows rows already")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per route")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per route first")
    parser.add_argument("--walk", type=int, default=50, help="next links followed in a cursor walk")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vas-million-"))
    setup: list[str] = []
    refusal = reuse_refusal(args.rows) if args.reuse else "not asked"
    if refusal is None:
        env, migrate_s = reused_database(**ENVIRONMENT)
        check_columns()
        from devices.models import Device

        cameras = list(Device.objects.filter(name__startswith="million-").order_by("name"))
        Device.objects.filter(pk=cameras[0].pk).update(retention_max_snapshots=None)
        camera_ids = [camera.pk for camera in cameras]
        print("--reuse: putting back camera 0's pruned rows ...", file=sys.stderr)
        restored, restore_s = top_up(args.rows, camera_ids)
        vacuum_s = vacuum_analyze()
        setup += [
            f"- reused {DATABASE} (--reuse): `migrate` took {migrate_s:.1f} s",
            f"- camera 0's rows put back: {restored:,} in {restore_s:.1f} s; VACUUM ANALYZE {vacuum_s:.1f} s",
        ]
    else:
        if args.reuse:
            print(f"--reuse: {DATABASE} cannot be reused ({refusal}); seeding afresh", file=sys.stderr)
            setup.append(f"- --reuse asked, but {refusal}: seeded afresh")
        env = fresh_product_database(DATABASE, **ENVIRONMENT)
        check_columns()
        from django.utils import timezone

        from devices.models import Device

        cameras = [
            Device.objects.create(
                name=camera_name(index), rtsp_url=f"rtsp://127.0.0.1:9/million-{index:02d}", live=False
            )
            for index in range(CAMERAS)
        ]
        camera_ids = [camera.pk for camera in cameras]
        print(f"seeding {args.rows:,} rows ...", file=sys.stderr)
        started = time.monotonic()
        inserted = insert_rows(rows=args.rows, camera_ids=camera_ids, newest=timezone.now(), top_up=False)
        seed_s = time.monotonic() - started
        vacuum_s = vacuum_analyze()
        setup.append(
            f"- seeded {inserted:,} rows with one INSERT ... SELECT in {seed_s:.1f} s; VACUUM ANALYZE {vacuum_s:.1f} s"
        )
    from django.db.models import Max

    from devices.services import device_storage_recount
    from snapshots.models import Snapshot
    from snapshots.tests.servers import free_port, stop_process

    # The rows went in with SQL, past the services that keep each camera's storage totals: recount
    # them, as the next prune would.
    started = time.monotonic()
    for pk in camera_ids:
        device_storage_recount(device_id=pk)
    setup.append(f"- storage totals of the {len(camera_ids)} cameras recounted in {time.monotonic() - started:.1f} s")

    image, thumbnail = small_jpegs()
    counts = [Snapshot.objects.filter(device_id=pk).count() for pk in camera_ids]
    newest = Snapshot.objects.aggregate(newest=Max("captured_at"))["newest"]
    setup += [
        f"- {sum(counts):,} rows: camera 0 {counts[0]:,}, cameras 1-19 {min(counts[1:]):,}-{max(counts[1:]):,} each, "
        f"over {SPAN.days} days to {newest:%Y-%m-%d %H:%M} UTC; image {len(image)} bytes (64x36), "
        f"thumbnail {len(thumbnail)} bytes (32x18)",
        f"- {table_sizes()}",
    ]
    totals = {"all": sum(counts), "camera 1": counts[1]}
    ids = {"camera 1": str(camera_ids[1])}

    failures: list[str] = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "vas_project.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
    gunicorn = start(argv, env, work / "gunicorn.log")
    try:
        wait_until_up(base, gunicorn)
        client = Client(base, get_token(base), ids, args)
        warm_workers(client)
        table = measure(client, totals, ids, newest - SPAN / 2)
        failures += client.failures
    finally:
        stop_process(gunicorn)
    prune_lines, prune_failures = prune(env, cameras[0], args.rows, camera_ids)
    failures += prune_failures

    print(f"\n## 1,000,000-row database ({DATABASE})\n" if args.rows == 1_000_000 else f"\n## {DATABASE}\n")
    print("\n".join(setup))
    print(
        f"\n## List routes over HTTP on {totals['all']:,} snapshots (2 gunicorn workers), "
        f"{args.requests} sequential requests each after {args.warmup} untimed\n"
    )
    print("| route | request | p50 ms | p95 ms | target p50 ms | met |")
    print("|---|---|---|---|---|---|")
    print("\n".join(table))
    print(f"\n## Prune of camera 0 with manage.py prune_snapshots ({DATABASE}, {totals['all']:,} rows)\n")
    print("| measure | value |")
    print("|---|---|")
    print("\n".join(prune_lines))
    print(f"\nlogs in {work}", file=sys.stderr)
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
