"""What images encrypted at rest cost: per image in-process, and on the image routes over HTTP.

Two PostgreSQL databases of their own, dropped and created: vas_encryption_bench, migrated, with
--snapshots real 1080p snapshots seeded as bench/seed_snapshots.py seeds them (test-camera frames
as JPEGs of 70-100 KB, --distinct-frames of them reused in turn, with their 320 px thumbnails),
stored plain; and vas_encryption_bench_on, a copy of it (createdb --template) whose rows are then
encrypted. The key ring is one Fernet key generated for the run (VAS_ENCRYPTION_KEYS), the rest
production settings (DEBUG off).

1. Per image, in this process (VAS_IMAGE_ENCRYPTION on): what `_save_snapshot` adds to a capture
   (`target_key_id()` and `image_seal` of the image and of its thumbnail, under a new snapshot id)
   and what a request adds (`image_unseal` of the image, or of the thumbnail), --iterations times
   each after 20 untimed, over the seeded distinct frames in turn; then the same on a larger frame
   (the test camera's first 1080p frame as a JPEG of quality 100, by bench/seed_snapshots.py's
   decoder). The key derivation (HKDF, once per process and key ring, then cached) is timed apart;
   for scale, the 320 px thumbnail every capture makes anyway.
2. Re-encryption: `manage.py reencrypt_snapshots` in its own process (timed, then run again with
   nothing left to move: its start-up), followed by VACUUM ANALYZE and a check that every row has
   the wanted key id and that sample rows decrypt to the plain bytes. The plain database goes to
   encrypted and back (so its rows too have been rewritten before they are measured), the copy to
   encrypted, plain and encrypted again: 5 runs, 3 to encrypted and 2 to plain.
3. Over HTTP: gunicorn (--workers sync workers, production settings) loaded by wrk (2 threads,
   --connections connections) on random snapshots of 3 routes: `GET /api/snapshots/{id}/image.jpg`
   (bearer token), its signed link (no Authorization header) and `thumbnail.jpg`. "off": the plain
   database and the server's VAS_IMAGE_ENCRYPTION=false; "on": the encrypted copy and true. Each
   measure waits until other processes take less than --quiet-cores over 2 s (at most
   --quiet-wait seconds: on a shared machine, others' test runs come and go), then, on a fresh
   server: 3 requests whose bytes are checked against the plain image's, --warmup seconds of wrk,
   then --seconds of wrk. --rounds rounds; in each, every route is
   measured off and on back to back (which goes first alternates), so a pair shares the machine's
   weather. Reported: each state's median round, on / off of the medians and of each round's pair,
   and the CPU that other processes (neither this benchmark's nor PostgreSQL's) took during the
   timed runs, read from /proc (a process that ended inside a run is not counted).

Targets: a capture adds <= 2 ms per 1080p image (judged on the p95); image.jpg's
requests/s with encryption on >= 0.90 x off (judged on the medians).

    .venv/bin/python bench/encryption_cost.py [--iterations 1000] [--snapshots 500] [--rounds 5] [--seconds 10]

Nothing here asserts on time; it exits 1 when a route answers anything but 200 or other bytes
than the plain image's, or when re-encryption fails or leaves a row behind.
"""

import argparse
import hashlib
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.api_load import PRODUCT, Result, median_round, run_wrk, server_peak_rss_mb, start_gunicorn  # noqa: E402
from bench.common import percentile, request, wait_until_up  # noqa: E402
from bench.live_http import USER, fresh_product_database  # noqa: E402

PLAIN_DATABASE = "vas_encryption_bench"
ENCRYPTED_DATABASE = "vas_encryption_bench_on"
OFF, ON = "off", "on"
DATABASES = {OFF: PLAIN_DATABASE, ON: ENCRYPTED_DATABASE}
TARGET_CAPTURE_MS = 2.0
TARGET_RATIO = 0.90
UNTIMED = 20
LARGE_QUALITY = 100
SIGNED_LINK_TTL_S = 24 * 3600
CHECKED_ROWS = 20
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_WINDOW_S = 2.0
MB = 1e6


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def conninfo(name: str) -> str:
    return f"host=127.0.0.1 port=5432 user=postgres dbname={name}"


@dataclass(frozen=True)
class Frame:
    image: bytes
    thumbnail: bytes


@dataclass(frozen=True)
class Digests:
    image: str
    thumbnail: str


@dataclass(frozen=True)
class ImageRoute:
    name: str
    column: str
    signed: bool

    def path(self, snapshot_id: str) -> str:
        if not self.signed:
            return f"/api/snapshots/{snapshot_id}/{self.column}.jpg"
        from snapshots import links

        path = links.snapshot_image_path(snapshot_id=snapshot_id, column=self.column)
        return f"{path}?{links.signed_query(path=path, expires=links.link_expiry(ttl_s=SIGNED_LINK_TTL_S))}"


ROUTES = (
    ImageRoute("image.jpg (bearer token)", "image", signed=False),
    ImageRoute("signed image.jpg (no Authorization)", "image", signed=True),
    ImageRoute("thumbnail.jpg (bearer token)", "thumbnail", signed=False),
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_rows(distinct: int) -> tuple[list[Frame], dict[str, Digests], int]:
    """The seeded rows, stored plain: the distinct frames (with their thumbnails), every row's
    digests by id, and the bytes of both columns in all."""
    from snapshots.models import Snapshot

    frames: dict[str, Frame] = {}
    digests = {}
    total = 0
    rows = Snapshot.objects.order_by("-captured_at").values_list("pk", "key_id", "image", "thumbnail")
    for pk, key_id, image, thumbnail in rows.iterator(chunk_size=50):
        if key_id:
            raise SystemExit(f"snapshot {pk} is stored encrypted; the seed should be plain")
        image, thumbnail = bytes(image), bytes(thumbnail)
        digests[str(pk)] = Digests(sha(image), sha(thumbnail))
        total += len(image) + len(thumbnail)
        if len(frames) < distinct:
            frames.setdefault(sha(image), Frame(image, thumbnail))
    return list(frames.values()), digests, total


def timed_ms(function: Callable[[int], object], iterations: int) -> list[float]:
    """function(i) for i in 0..UNTIMED-1 untimed, then iterations times, each timed in ms."""
    for number in range(UNTIMED):
        function(number)
    times = []
    for number in range(iterations):
        started = time.perf_counter()
        function(number)
        times.append((time.perf_counter() - started) * 1000)
    return times


def cost_row(label: str, size: float, times: list[float], target_ms: float | None) -> str:
    p50, p95, mean = percentile(times, 0.5), percentile(times, 0.95), statistics.mean(times)
    target = f"<= {target_ms:g}" if target_ms else "-"
    met = "-" if not target_ms else ("yes" if p95 <= target_ms else "**no**")
    return (
        f"| {label} | {size / 1000:.1f} KB | {mean:.3f} | {p50:.3f} | {p95:.3f} | "
        f"{size / MB / (mean / 1000):.0f} | {target} | {met} |"
    )


def per_image_costs(frames: list[Frame], label: str, iterations: int) -> list[str]:
    """The table rows for these frames (taken in turn): seal as a capture does, unseal as a request does."""
    from vas_project import crypto

    ids = [uuid.uuid4() for _ in range(len(frames))]

    def capture(number: int) -> tuple[bytes, bytes]:
        # As _save_snapshot: the key id once, then both columns under the new snapshot's id.
        frame, snapshot_id, key_id = frames[number % len(frames)], uuid.uuid4(), crypto.target_key_id()
        return (
            crypto.image_seal(data=frame.image, snapshot_id=snapshot_id, column="image", key_id=key_id),
            crypto.image_seal(data=frame.thumbnail, snapshot_id=snapshot_id, column="thumbnail", key_id=key_id),
        )

    key_id = crypto.target_key_id()
    sealed = [
        {
            column: crypto.image_seal(data=data, snapshot_id=pk, column=column, key_id=key_id)
            for column, data in (("image", frame.image), ("thumbnail", frame.thumbnail))
        }
        for frame, pk in zip(frames, ids, strict=True)
    ]

    def unseal(column: str) -> Callable[[int], bytes]:
        def read(number: int) -> bytes:
            index = number % len(frames)
            stored = sealed[index][column]
            return crypto.image_unseal(stored=stored, snapshot_id=ids[index], column=column, key_id=key_id)

        return read

    for index, frame in enumerate(frames):  # the round trip gives the bytes back
        if unseal("image")(index) != frame.image or unseal("thumbnail")(index) != frame.thumbnail:
            raise SystemExit("image_unseal did not give back the sealed bytes")
    image_size = statistics.mean(len(frame.image) for frame in frames)
    thumbnail_size = statistics.mean(len(frame.thumbnail) for frame in frames)
    return [
        cost_row(
            f"{label}: capture, seal image + thumbnail (what `_save_snapshot` adds)",
            image_size + thumbnail_size,
            timed_ms(capture, iterations),
            TARGET_CAPTURE_MS,
        ),
        cost_row(
            f"{label}: request, unseal image (image.jpg)", image_size, timed_ms(unseal("image"), iterations), None
        ),
        cost_row(
            f"{label}: request, unseal thumbnail (thumbnail.jpg)",
            thumbnail_size,
            timed_ms(unseal("thumbnail"), iterations),
            None,
        ),
    ]


def large_frame() -> Frame:
    """The test camera's first 1080p frame as a JPEG of quality LARGE_QUALITY, with its thumbnail."""
    from django.conf import settings

    from bench.seed_snapshots import decoded_frames
    from snapshots import images

    out = io.BytesIO()
    decoded_frames(1)[0].save(out, format="JPEG", quality=LARGE_QUALITY)
    jpeg = out.getvalue()
    return Frame(jpeg, images.resize_jpeg(jpeg, max_width_px=settings.THUMBNAIL_WIDTH_PX))


def per_image_lines(frames: list[Frame], iterations: int) -> list[str]:
    from snapshots import images
    from vas_project import crypto

    print("per-image costs ...", file=sys.stderr)
    large = large_frame()
    sizes = sorted(len(frame.image) for frame in frames)
    lines = [
        f"\n## Per-image cost in-process: AES-256-GCM, {iterations} timed calls each after {UNTIMED} untimed\n",
        f"VAS_IMAGE_ENCRYPTION on, one generated Fernet key in VAS_ENCRYPTION_KEYS. Seeded frames: "
        f"{len(frames)} distinct 1920x1080 JPEGs of {sizes[0]}-{sizes[-1]} bytes with their 320 px thumbnails, "
        f"in turn; large frame: the test camera's first frame at JPEG quality {LARGE_QUALITY}, "
        f"{len(large.image)} bytes, thumbnail {len(large.thumbnail)} bytes. Sizes are means; MB/s is the bytes "
        f"over the mean time. Target judged on the p95.\n",
        "| operation | bytes | mean ms | p50 ms | p95 ms | MB/s | target ms | met |",
        "|---|---|---|---|---|---|---|---|",
        *per_image_costs(frames, "seeded frames", iterations),
        *per_image_costs([large], "large frame", iterations),
        "",
    ]
    derivations = []
    for _ in range(UNTIMED):
        crypto._ring.cache_clear()  # noqa: SLF001 - the derivation a process pays once
        started = time.perf_counter()
        crypto.target_key_id()
        derivations.append((time.perf_counter() - started) * 1000)
    thumbnails = timed_ms(
        lambda number: images.resize_jpeg(frames[number % len(frames)].image, max_width_px=320),
        max(20, iterations // 20),
    )
    sealed = crypto.image_seal(
        data=frames[0].image, snapshot_id=uuid.uuid4(), column="image", key_id=crypto.target_key_id()
    )
    lines += [
        f"- key derivation (HKDF-SHA256 of each key, once per process and key ring, then cached): "
        f"p50 {percentile(derivations, 0.5):.3f} ms over {UNTIMED} runs",
        f"- for scale, the 320 px thumbnail each capture makes anyway (images.resize_jpeg, seeded frames): "
        f"p50 {percentile(thumbnails, 0.5):.1f} ms",
        f"- stored size: the plain bytes + {len(sealed) - len(frames[0].image)} (12-byte nonce, 16-byte tag)",
    ]
    return lines


@dataclass
class Reencryption:
    database: str
    state: str
    moved: int
    wall_s: float
    idle_s: float


def manage_reencrypt(database: str, state: str) -> tuple[int, float, str]:
    """manage.py reencrypt_snapshots on database with VAS_IMAGE_ENCRYPTION for state, in its own
    process: the rows it moved, its wall time, its output."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "VAS_IMAGE_ENCRYPTION": "true" if state == ON else "false",
    }
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "manage.py", "reencrypt_snapshots"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    wall_s = time.monotonic() - started
    moved = re.search(r"moved (\d+) snapshot\(s\)", run.stdout)
    if run.returncode != 0 or not moved:
        raise SystemExit(
            f"reencrypt_snapshots ({database}, {state}) exited {run.returncode}: "
            f"{run.stdout[-500:]}{run.stderr[-2000:]}"
        )
    return int(moved[1]), wall_s, run.stdout


def vacuum_analyze(database: str) -> None:
    import psycopg

    with psycopg.connect(conninfo(database), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE snapshots_snapshot")


def check_state(database: str, state: str, digests: dict[str, Digests]) -> None:
    """Every row under the state's key id; sample rows decrypt (in this process, as the selectors
    do) to the plain bytes."""
    import psycopg

    from vas_project import crypto

    expected = crypto.target_key_id() if state == ON else ""
    sample = [uuid.UUID(pk) for pk in random.sample(sorted(digests), min(CHECKED_ROWS, len(digests)))]
    with psycopg.connect(conninfo(database)) as connection:
        key_ids: dict[str, int] = dict(
            connection.execute("SELECT key_id, count(*) FROM snapshots_snapshot GROUP BY key_id").fetchall()
        )
        rows = connection.execute(
            "SELECT id, key_id, image, thumbnail FROM snapshots_snapshot WHERE id = ANY(%s)", [sample]
        ).fetchall()
    if key_ids != {expected: len(digests)}:
        raise SystemExit(f"{database} after re-encryption to {state}: rows by key id {key_ids}, not {expected!r}")
    for pk, key_id, *stored in rows:
        for column, data in zip(("image", "thumbnail"), stored, strict=True):
            plain = crypto.image_unseal(stored=bytes(data), snapshot_id=pk, column=column, key_id=key_id)
            if sha(plain) != getattr(digests[str(pk)], column):
                raise SystemExit(f"{database} after re-encryption to {state}: {pk}'s {column} reads back other bytes")


def reencrypt(database: str, state: str, digests: dict[str, Digests]) -> Reencryption:
    print(f"re-encrypting {database} to {state} ...", file=sys.stderr)
    moved, wall_s, output = manage_reencrypt(database, state)
    if moved != len(digests):
        raise SystemExit(f"reencrypt_snapshots ({database}, {state}) moved {moved} of {len(digests)}: {output[-500:]}")
    idle_moved, idle_s, _ = manage_reencrypt(database, state)  # nothing left to move: start-up and one count
    if idle_moved:
        raise SystemExit(f"reencrypt_snapshots ({database}, {state}) run again moved {idle_moved} rows, not 0")
    vacuum_analyze(database)
    check_state(database, state, digests)
    return Reencryption(database, state, moved, wall_s, idle_s)


def reencryption_lines(runs: list[Reencryption], total_bytes: int) -> list[str]:
    lines = [
        f"\n## Re-encryption: `manage.py reencrypt_snapshots` (default --batch-size 50), {runs[0].moved} rows, "
        f"{total_bytes / MB:.1f} MB of images and thumbnails\n",
        "Each run in its own process, then once more with nothing left to move (its start-up and one count "
        "query); rows/s and MB/s are over the difference. Then VACUUM ANALYZE and the check (not timed).\n",
        "| run | database | to | rows moved | wall s | run with nothing to move s | rows/s | MB/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(runs, start=1):
        work_s = run.wall_s - run.idle_s
        rate = f"{run.moved / work_s:.0f}" if work_s > 0 else "-"
        throughput = f"{total_bytes / MB / work_s:.1f}" if work_s > 0 else "-"
        to = "encrypted (VAS_IMAGE_ENCRYPTION=true)" if run.state == ON else "plain (VAS_IMAGE_ENCRYPTION=false)"
        lines.append(
            f"| {number} | {run.database} | {to} | {run.moved} | {run.wall_s:.2f} | {run.idle_s:.2f} | "
            f"{rate} | {throughput} |"
        )
    for state in (ON, OFF):
        rates = [
            run.moved / (run.wall_s - run.idle_s) for run in runs if run.state == state and run.wall_s > run.idle_s
        ]
        if rates:
            lines.append(
                f"- to {'encrypted' if state == ON else 'plain'}: median {statistics.median(rates):.0f} rows/s"
            )
    return lines


@dataclass(frozen=True)
class Process:
    ppid: int
    started: int
    comm: str
    cpu_ticks: int


def processes() -> dict[int, Process]:
    """Every process's parent, start time, name and CPU time (user + system), from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        comm = text[text.index("(") + 1 : text.rindex(")")]
        found[int(stat.parent.name)] = Process(int(fields[1]), int(fields[19]), comm, int(fields[11]) + int(fields[12]))
    return found


def others_cpu_s(before: dict[int, Process], after: dict[int, Process]) -> float:
    """CPU seconds taken between the two readings by processes neither this benchmark's (its
    descendants) nor PostgreSQL's nor the kernel's threads."""
    table = {**before, **after}
    mine = os.getpid()

    def foreign(pid: int) -> bool:
        if table[pid].comm == "postgres" or pid == 2 or table[pid].ppid == 2:
            return False
        current = pid
        while current in table and current > 1:
            if current == mine:
                return False
            current = table[current].ppid
        return True

    ticks = 0
    for pid, now in after.items():
        if not foreign(pid):
            continue
        earlier = before.get(pid)
        same = earlier is not None and earlier.started == now.started
        ticks += now.cpu_ticks - (earlier.cpu_ticks if same and earlier else 0)
    return ticks / CLOCK_TICKS


@dataclass(frozen=True)
class Measure:
    result: Result
    others_cores: float
    # Seconds spent waiting for a quiet machine first, and whether it was quiet then.
    waited_s: float
    quiet: bool


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that loads gunicorn with wrk in alternating rounds, each
    measure after wait_for_quiet (which reads --quiet-cores and --quiet-wait)."""
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quiet-cores", type=float, default=0.1, help="other processes' CPU that counts as quiet")
    parser.add_argument("--quiet-wait", type=float, default=120, help="the longest wait for quiet before a measure")


def wait_for_quiet(args: argparse.Namespace) -> tuple[float, bool]:
    """Wait until other processes take less than --quiet-cores over QUIET_WINDOW_S (a shared
    machine's tests come and go), at most --quiet-wait seconds: the seconds waited and whether
    it was quiet."""
    started = time.monotonic()
    while True:
        before = processes()
        time.sleep(QUIET_WINDOW_S)
        if others_cpu_s(before, processes()) / QUIET_WINDOW_S < args.quiet_cores:
            return time.monotonic() - started, True
        if time.monotonic() - started >= args.quiet_wait:
            return time.monotonic() - started, False


def measure(
    route: ImageRoute,
    state: str,
    *,
    args: argparse.Namespace,
    ids: list[str],
    digests: dict[str, Digests],
    token: str,
    work: Path,
) -> Measure:
    """One route in one state on a fresh gunicorn, once the machine is quiet: checked answers,
    a warm-up, then wrk."""
    from snapshots.tests.servers import free_port

    waited_s, quiet = wait_for_quiet(args)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    paths = {pk: route.path(pk) for pk in ids}
    paths_file = work / "paths.txt"
    paths_file.write_text("\n".join(paths.values()) + "\n")
    route_token = "" if route.signed else token
    server_env = {
        "DATABASE_URL": database_url(DATABASES[state]),
        "VAS_IMAGE_ENCRYPTION": "true" if state == ON else "false",
    }
    server = start_gunicorn(
        settings=PRODUCT, port=port, workers=args.workers, threads=1, log=work / "gunicorn.log", env=server_env
    )
    try:
        wait_until_up(base, server)
        for pk in random.sample(ids, 3):
            status, body = request(base + paths[pk], token=route_token)
            if status != 200 or sha(body) != getattr(digests[pk], route.column):
                raise SystemExit(f"{route.name} ({state}) answered {status} with other bytes than the plain image's")
        run_wrk(base, paths_file, seconds=args.warmup, connections=args.connections, token=route_token)
        before, started = processes(), time.monotonic()
        stats = run_wrk(base, paths_file, seconds=args.seconds, connections=args.connections, token=route_token)
        others_cores = others_cpu_s(before, processes()) / (time.monotonic() - started)
        peak_rss_mb = server_peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()
    duration_s = stats["duration_us"] / 1e6
    statuses = {int(status): count for status, count in stats["statuses"].items()}
    unexpected = {status: count for status, count in statuses.items() if status != 200}
    result = Result(
        requests_per_s=stats["requests"] / duration_s,
        p50_ms=stats["p50_us"] / 1000,
        p95_ms=stats["p95_us"] / 1000,
        failed=sum(unexpected.values()) + stats["socket_errors"],
        mb_per_s=stats["bytes"] / duration_s / MB,
        peak_rss_mb=peak_rss_mb,
        unexpected=unexpected,
    )
    return Measure(result, others_cores, waited_s, quiet)


def http_lines(args: argparse.Namespace, measures: dict[tuple[str, str], list[Measure]]) -> list[str]:
    lines = [
        f"\n## Image routes over HTTP: gunicorn {args.workers} sync workers, wrk 2 threads x {args.connections} "
        f"connections, {args.seconds:.0f} s after {args.warmup:.0f} s of warm-up, {args.rounds} rounds\n",
        "off: the plain database, VAS_IMAGE_ENCRYPTION=false; on: the encrypted copy, true. Other processes' "
        "CPU: what processes neither this benchmark's nor PostgreSQL's took during the timed runs, in cores.\n",
        "| route | encryption | requests/s (median; range) | p50 ms | p95 ms | MB/s | failed | "
        "server peak RSS MB | other processes' CPU (median; max) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for route in ROUTES:
        for state in (OFF, ON):
            rounds = [each.result for each in measures[route.name, state]]
            others = [each.others_cores for each in measures[route.name, state]]
            result = median_round(rounds)
            low, high = min(rounds).requests_per_s, max(rounds).requests_per_s
            lines.append(
                f"| {route.name} | {state} | {result.requests_per_s:.0f} ({low:.0f}-{high:.0f}) | "
                f"{result.p50_ms:.1f} | {result.p95_ms:.1f} | {result.mb_per_s:.1f} | {result.failed} | "
                f"{result.peak_rss_mb:.0f} | {statistics.median(others):.2f}; {max(others):.2f} |"
            )
    lines += [
        f"\n## Encryption on / off, requests/s (target: image.jpg >= {TARGET_RATIO:.2f}, judged on the medians)\n",
        "Each round's pair was measured back to back.\n",
        "| route | off (median) | on (median) | on / off | on / off of each round's pair (median) | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for route in ROUTES:
        off = [each.result for each in measures[route.name, OFF]]
        on = [each.result for each in measures[route.name, ON]]
        ratio = median_round(on).requests_per_s / median_round(off).requests_per_s
        pairs = [b.requests_per_s / a.requests_per_s for a, b in zip(off, on, strict=True)]
        each = ", ".join(f"{pair:.2f}" for pair in pairs)
        judged = route.column == "image" and not route.signed
        target = f">= {TARGET_RATIO:.2f}" if judged else "-"
        met = "-" if not judged else ("yes" if ratio >= TARGET_RATIO else "**no**")
        lines.append(
            f"| {route.name} | {median_round(off).requests_per_s:.0f} | {median_round(on).requests_per_s:.0f} | "
            f"{ratio:.2f} | {each} ({statistics.median(pairs):.2f}) | {target} | {met} |"
        )
    everything = [each for rounds in measures.values() for each in rounds]
    waits = [each.waited_s for each in everything if each.waited_s > QUIET_WINDOW_S * 1.5]
    noisy = sum(1 for each in everything if not each.quiet)
    lines.append(
        f"- before each measure, a wait until other processes took < {args.quiet_cores:g} cores over "
        f"{QUIET_WINDOW_S:g} s: {len(waits)} of {len(everything)} measures waited longer than one look, "
        f"{sum(waits):.0f} s in all; {noisy} started without quiet after {args.quiet_wait:.0f} s"
    )
    for route in ROUTES:
        for state in (OFF, ON):
            if unexpected := median_round([each.result for each in measures[route.name, state]]).unexpected:
                answers = ", ".join(f"{count} x {status}" for status, count in sorted(unexpected.items()))
                lines.append(f"- {route.name} ({state}): answers other than 200 over all rounds: {answers}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=1000, help="timed calls per in-process operation")
    parser.add_argument("--snapshots", type=int, default=500)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--distinct-frames", type=int, default=50)
    add_load_arguments(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench installs it)")
    from cryptography.fernet import Fernet

    work = Path(tempfile.mkdtemp(prefix="vas-encryption-bench-"))
    # This process (per-image costs, checks) runs with encryption on; each server and command gets
    # its own state's database and VAS_IMAGE_ENCRYPTION.
    fresh_product_database(
        PLAIN_DATABASE,
        CELERY_BROKER_URL="",
        VAS_LIVE_DEFAULT="false",
        VAS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        VAS_IMAGE_ENCRYPTION="true",
    )
    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from bench.seed_snapshots import seed

    print(f"seeding {args.snapshots} snapshots ...", file=sys.stderr)
    seed(count=args.snapshots, cameras=args.cameras, distinct_frames=args.distinct_frames)
    frames, digests, total_bytes = read_rows(args.distinct_frames)
    access = AccessToken.for_user(User.objects.get(username=USER))  # the copy has the same user
    access.set_exp(lifetime=timedelta(hours=24))
    token = str(access)
    connection.close()  # a database used as a template must have no other session
    lines = per_image_lines(frames, args.iterations)

    # Both databases' rows rewritten by re-encryption before they are measured.
    runs = [reencrypt(PLAIN_DATABASE, ON, digests), reencrypt(PLAIN_DATABASE, OFF, digests)]
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", ENCRYPTED_DATABASE], check=True)
    createdb = ["createdb", "-h", "127.0.0.1", "-U", "postgres", "--template", PLAIN_DATABASE, ENCRYPTED_DATABASE]
    subprocess.run(createdb, check=True)
    runs += [reencrypt(ENCRYPTED_DATABASE, state, digests) for state in (ON, OFF, ON)]

    ids = sorted(digests)
    measures: dict[tuple[str, str], list[Measure]] = {
        (route.name, state): [] for route in ROUTES for state in (OFF, ON)
    }
    for number in range(1, args.rounds + 1):
        for index, route in enumerate(ROUTES):
            for state in (OFF, ON) if (number + index) % 2 else (ON, OFF):
                done = measure(route, state, args=args, ids=ids, digests=digests, token=token, work=work)
                measures[route.name, state].append(done)
                print(
                    f"round {number}: {route.name}, {state}: {done.result.requests_per_s:.0f} requests/s "
                    f"(other processes {done.others_cores:.2f} cores; waited {done.waited_s:.0f} s for quiet)",
                    file=sys.stderr,
                )
    lines += reencryption_lines(runs, total_bytes)
    lines += http_lines(args, measures)
    print("\n".join(lines))
    print(f"\nlogs in {work}", file=sys.stderr)
    return 1 if any(each.result.failed for rounds in measures.values() for each in rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
