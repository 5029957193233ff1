"""Retention on many rows: seed N snapshots of one camera, then prune them all.

    createdb -h 127.0.0.1 -U postgres vas_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/vas_bench
    .venv/bin/python bench/prune_rows.py seed --rows 100000
    .venv/bin/python bench/prune_rows.py prune

Seeding and pruning run in separate processes, so the peak memory reported is pruning's own.
"""

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import PRODUCTION_ENV  # noqa: E402

SEED_BATCH = 5000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(device, rows: int) -> None:
    from django.utils import timezone

    from snapshots.models import Snapshot
    from snapshots.tests.factories import jpeg_bytes

    image = jpeg_bytes(640, 360)
    old = timezone.now() - timedelta(days=30)
    for start in range(0, rows, SEED_BATCH):
        Snapshot.objects.bulk_create(
            Snapshot(device=device, image=image, thumbnail=image, width=640, height=360, file_size=len(image),
                     captured_at=old - timedelta(seconds=start + i), trigger="command")
            for i in range(min(SEED_BATCH, rows - start))
        )  # fmt: skip
    print(f"seeded {rows} snapshots of {len(image)} bytes")


def prune(device) -> None:
    from snapshots.retention import snapshot_prune_device

    before = peak_rss_mb()
    device.retention_days = 1
    started = time.monotonic()
    deleted = snapshot_prune_device(device=device)
    elapsed = time.monotonic() - started
    print(f"pruned {deleted} rows in {elapsed:.1f} s; peak RSS {before:.0f} MB before, {peak_rss_mb():.0f} MB after")
    device.delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["seed", "prune"])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    # DEBUG off, as in production: with it on, Django keeps the SQL of every statement.
    os.environ.update(PRODUCTION_ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from devices.models import Device

    call_command("migrate", verbosity=0)
    device, _ = Device.objects.get_or_create(name="prune-bench", defaults={"rtsp_url": "rtsp://127.0.0.1/none"})
    if args.phase == "seed":
        seed(device, args.rows)
    else:
        prune(device)


if __name__ == "__main__":
    main()
