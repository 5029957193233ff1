"""What the request metrics cost on the metadata route, over HTTP.

A PostgreSQL database of its own (vas_metrics_bench), dropped and created, migrated, with
--snapshots real 1080p snapshots of --cameras cameras seeded as bench/seed_snapshots.py seeds
them; production settings (DEBUG off). gunicorn (--workers sync workers) loaded by wrk (2
threads, --connections connections) on `GET /api/snapshots/{id}` of random seeded snapshots,
with a bearer token. "off": VAS_METRICS=false (no RequestMetricsMiddleware; /metrics answers
404). "on": VAS_METRICS=true and PROMETHEUS_MULTIPROC_DIR a fresh empty directory per server, as
production runs several workers (each writes its counts into mmap files there).

Each measure waits until other processes take less than --quiet-cores (bench/encryption_cost.py's
wait), then, on a fresh server: one checked request, --warmup seconds of wrk, --seconds of wrk.
--rounds rounds; in each, off and on back to back (which goes first alternates). After each "on"
load, one scrape of /metrics from 127.0.0.1 timed by the client: its bytes, its samples, and a
check that it counted every answer wrk had. Beside requests/s and latency, the CPU time gunicorn's
processes took per request, read from /proc: the figure the rest of a shared machine moves least.

Goal: overhead = 1 - on / off of the median requests/s <= 5 %.

    .venv/bin/python bench/metrics_overhead.py [--rounds 5] [--seconds 10] [--snapshots 2000]

Nothing here asserts on time; it exits 1 when the route answers anything but 200, /metrics
anything but 404 with metrics off, or a scrape misses answers.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.api_load import PRODUCT, run_wrk, start_gunicorn  # noqa: E402
from bench.common import request, wait_until_up  # noqa: E402
from bench.encryption_cost import (  # noqa: E402
    CLOCK_TICKS,
    QUIET_WINDOW_S,
    Process,
    add_load_arguments,
    others_cpu_s,
    processes,
    wait_for_quiet,
)
from bench.live_http import USER, fresh_product_database  # noqa: E402

DATABASE = "vas_metrics_bench"
OFF, ON = "off", "on"
LABELS = {OFF: "off (VAS_METRICS=false)", ON: "on (VAS_METRICS=true, multiprocess directory)"}
GOAL_OVERHEAD = 0.05
METADATA_ROUTE = "snapshot-detail"  # the route label the middleware gives GET /api/snapshots/{id}


@dataclass(frozen=True)
class Measure:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    # The CPU time gunicorn's master and workers took per request: what the metrics add, little
    # moved by the other processes of this shared machine.
    server_cpu_ms: float
    failed: int
    others_cores: float
    # Seconds spent waiting for a quiet machine first, and whether it was quiet then.
    waited_s: float
    quiet: bool


@dataclass(frozen=True)
class Scrape:
    seconds: float
    size_bytes: int
    samples: int


def scrape(base: str, *, answered: int) -> Scrape:
    """One scrape of /metrics, timed by the client; it must count at least the answered 200s of the route."""
    from prometheus_client.parser import text_string_to_metric_families

    started = time.perf_counter()
    status, body = request(f"{base}/metrics", token=None)
    seconds = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"/metrics answered {status}: {body[:300]!r}")
    samples = [sample for family in text_string_to_metric_families(body.decode()) for sample in family.samples]
    counted = sum(
        sample.value
        for sample in samples
        if sample.name == "vas_http_request_duration_seconds_count"
        and sample.labels.get("route") == METADATA_ROUTE
        and sample.labels.get("status") == "200"
    )
    if counted < answered:
        raise SystemExit(f"/metrics counted {counted:.0f} answers of {METADATA_ROUTE}, wrk had {answered}")
    return Scrape(seconds, len(body), len(samples))


def server_cpu_s(server_pid: int, before: dict[int, Process], after: dict[int, Process]) -> float:
    """CPU seconds gunicorn's master and workers (alive at both readings) took between them."""

    def in_server(pid: int) -> bool:
        while pid in after and pid != server_pid:
            pid = after[pid].ppid
        return pid == server_pid

    same = [pid for pid in after if in_server(pid) and pid in before and before[pid].started == after[pid].started]
    return sum(after[pid].cpu_ticks - before[pid].cpu_ticks for pid in same) / CLOCK_TICKS


def measure(
    state: str, *, args: argparse.Namespace, paths_file: Path, token: str, work: Path
) -> tuple[Measure, Scrape | None]:
    """One state on a fresh gunicorn, once the machine is quiet: a checked answer, a warm-up,
    wrk, then (metrics on) a scrape."""
    from snapshots.tests.servers import free_port

    waited_s, quiet = wait_for_quiet(args)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    counts = Path(tempfile.mkdtemp(prefix="prometheus-", dir=work))
    server_env = {"VAS_METRICS": "false"} if state == OFF else {"VAS_METRICS": "true"}
    if state == ON:
        server_env["PROMETHEUS_MULTIPROC_DIR"] = str(counts)
    server = start_gunicorn(
        settings=PRODUCT, port=port, workers=args.workers, threads=1, log=work / "gunicorn.log", env=server_env
    )
    try:
        wait_until_up(base, server)
        path = random.choice(paths_file.read_text().split())  # noqa: S311
        status, body = request(base + path, token=token)
        if status != 200:
            raise SystemExit(f"{path} ({state}) answered {status}: {body[:300]!r}")
        if state == OFF and (metrics_status := request(f"{base}/metrics", token=None)[0]) != 404:
            raise SystemExit(f"/metrics answered {metrics_status} with VAS_METRICS=false, not 404")
        warm = run_wrk(base, paths_file, seconds=args.warmup, connections=args.connections, token=token)
        before, started = processes(), time.monotonic()
        stats = run_wrk(base, paths_file, seconds=args.seconds, connections=args.connections, token=token)
        after = processes()
        others_cores = others_cpu_s(before, after) / (time.monotonic() - started)
        server_s = server_cpu_s(server.pid, before, after)
        answered = 1 + warm["statuses"].get("200", 0) + stats["statuses"].get("200", 0)
        scraped = scrape(base, answered=answered) if state == ON else None
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(counts)
    duration_s = stats["duration_us"] / 1e6
    failed = stats["requests"] - stats["statuses"].get("200", 0) + stats["socket_errors"]
    result = Measure(
        requests_per_s=stats["requests"] / duration_s,
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        server_cpu_ms=server_s * 1000 / stats["requests"],
        failed=failed,
        others_cores=others_cores,
        waited_s=waited_s,
        quiet=quiet,
    )
    return result, scraped


def median_of(measures: list[Measure], figure: str) -> float:
    return statistics.median(getattr(each, figure) for each in measures)


def report(args: argparse.Namespace, measures: dict[str, list[Measure]], scrapes: list[Scrape]) -> None:
    print(
        f"\n### Metadata route over HTTP: gunicorn {args.workers} sync workers, wrk 2 threads x "
        f"{args.connections} connections, {args.seconds:.0f} s after {args.warmup:.0f} s of warm-up, "
        f"{args.rounds} rounds\n"
    )
    print(
        "Each figure is the median of its rounds. Server CPU: the user + system time of gunicorn's master and "
        "workers during the timed run over the requests answered. Other processes' CPU: what processes neither "
        "this benchmark's nor PostgreSQL's took during the timed runs, in cores.\n"
    )
    print(
        "| metrics | requests/s (median; range) | p50 ms | p99 ms | server CPU ms per request | failed | "
        "other processes' CPU (median; max) |"
    )
    print("|---|---|---|---|---|---|---|")
    for state in (OFF, ON):
        rounds = measures[state]
        rates = [each.requests_per_s for each in rounds]
        others = [each.others_cores for each in rounds]
        print(
            f"| {LABELS[state]} | {statistics.median(rates):.0f} ({min(rates):.0f}-{max(rates):.0f}) | "
            f"{median_of(rounds, 'p50_ms'):.2f} | {median_of(rounds, 'p99_ms'):.2f} | "
            f"{median_of(rounds, 'server_cpu_ms'):.2f} | "
            f"{sum(each.failed for each in rounds)} | {statistics.median(others):.2f}; {max(others):.2f} |"
        )
    off_rate, on_rate = median_of(measures[OFF], "requests_per_s"), median_of(measures[ON], "requests_per_s")
    overhead = 1 - on_rate / off_rate
    pairs = [1 - on.requests_per_s / off.requests_per_s for off, on in zip(measures[OFF], measures[ON], strict=True)]
    p50_off, p50_on = median_of(measures[OFF], "p50_ms"), median_of(measures[ON], "p50_ms")
    p99_off, p99_on = median_of(measures[OFF], "p99_ms"), median_of(measures[ON], "p99_ms")
    print(
        f"\n- overhead = 1 - on / off of the median requests/s: **{overhead:+.1%}** "
        f"(each round's pair: {', '.join(f'{pair:+.1%}' for pair in pairs)}; median {statistics.median(pairs):+.1%})"
    )
    print(f"- p50 latency on - off: {p50_on - p50_off:+.2f} ms; p99: {p99_on - p99_off:+.2f} ms")
    cpu_off, cpu_on = median_of(measures[OFF], "server_cpu_ms"), median_of(measures[ON], "server_cpu_ms")
    print(f"- server CPU per request on / off: {cpu_on / cpu_off - 1:+.1%} ({cpu_on - cpu_off:+.3f} ms)")
    times_ms = [each.seconds * 1000 for each in scrapes]
    print(
        f"- one scrape of /metrics from 127.0.0.1 after each on load, timed by the client: "
        f"{statistics.median(times_ms):.1f} ms median ({min(times_ms):.1f}-{max(times_ms):.1f}) over "
        f"{len(scrapes)} scrapes; {scrapes[-1].size_bytes} bytes, {scrapes[-1].samples} samples with "
        f"{args.cameras} cameras"
    )
    everything = measures[OFF] + measures[ON]
    waits = [each.waited_s for each in everything if each.waited_s > QUIET_WINDOW_S * 1.5]
    print(
        f"- before each measure, a wait until other processes took < {args.quiet_cores:g} cores over "
        f"{QUIET_WINDOW_S:g} s: {len(waits)} of {len(everything)} measures waited longer than one look, "
        f"{sum(waits):.0f} s in all; {sum(not each.quiet for each in everything)} started without quiet "
        f"after {args.quiet_wait:.0f} s"
    )
    met = "met" if overhead <= GOAL_OVERHEAD else "**not met**"
    print(f"\nGoal, overhead <= {GOAL_OVERHEAD:.0%}: {met} ({overhead:+.1%}).")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshots", type=int, default=2000)
    parser.add_argument("--cameras", type=int, default=20)
    add_load_arguments(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench installs it)")

    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the servers with metrics on get their own
    fresh_product_database(DATABASE, CELERY_BROKER_URL="", VAS_LIVE_DEFAULT="false")
    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from bench.seed_snapshots import seed
    from snapshots.models import Snapshot

    print(f"seeding {args.snapshots} snapshots ...", file=sys.stderr)
    seed(count=args.snapshots, cameras=args.cameras, distinct_frames=50)
    access = AccessToken.for_user(User.objects.get(username=USER))
    access.set_exp(lifetime=timedelta(hours=24))  # a long run outlives the default 30 minutes
    work = Path(tempfile.mkdtemp(prefix="vas-metrics-bench-"))
    paths_file = work / "paths.txt"
    paths_file.write_text("".join(f"/api/snapshots/{pk}\n" for pk in Snapshot.objects.values_list("pk", flat=True)))
    connection.close()

    measures: dict[str, list[Measure]] = {OFF: [], ON: []}
    scrapes = []
    for number in range(1, args.rounds + 1):
        for state in (OFF, ON) if number % 2 else (ON, OFF):
            done, scraped = measure(state, args=args, paths_file=paths_file, token=str(access), work=work)
            measures[state].append(done)
            scrapes += [scraped] if scraped else []
            print(
                f"round {number}: metrics {state}: {done.requests_per_s:.0f} requests/s, p50 {done.p50_ms:.2f} ms "
                f"(other processes {done.others_cores:.2f} cores; waited {done.waited_s:.0f} s for quiet)",
                file=sys.stderr,
            )
    report(args, measures, scrapes)
    print(f"\nlogs in {work}", file=sys.stderr)
    return 1 if any(each.failed for rounds in measures.values() for each in rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
