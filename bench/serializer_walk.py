"""The snapshot list's representation against DRF's own field walk, in process, on the seeded bench database.

    .venv/bin/python bench/serializer_walk.py

Both produce the same JSON (checked first). Over HTTP (gunicorn, wrk, 3 interleaved rounds) the
walk by SNAPSHOT_FIELDS served 1.15-1.24x the requests/s of DRF's walk on ?per_page=100.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())
from bench.common import PRODUCTION_ENV, database_url

os.environ.update(PRODUCTION_ENV, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="vas_project.settings")
import django

django.setup()
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from snapshots import selectors
from snapshots.api.serializers import SnapshotSerializer

rows = list(selectors.snapshot_list_queryset().order_by("-captured_at")[:100])
objs = list(selectors.snapshot_metadata_queryset().order_by("-captured_at")[:100])
names = selectors.device_names(device_ids=(r.device_id for r in rows))
request = APIRequestFactory().get("/api/snapshots/?per_page=100", HTTP_HOST="127.0.0.1")


def ours():
    return SnapshotSerializer(rows, many=True, context={"request": request, "device_names": names}).data


def drf():
    s = SnapshotSerializer(context={"request": request})
    return [serializers.Serializer.to_representation(s, o) for o in objs]


assert [dict(x) for x in ours()] == [dict(x) for x in drf()]
for name, fn in (("ours (SNAPSHOT_FIELDS loop)", ours), ("DRF field walk", drf)):
    times = []
    for _ in range(300):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    print(f"{name:28} min {min(times) * 1000:.2f} ms  median {statistics.median(times) * 1000:.2f} ms per 100-row page")
