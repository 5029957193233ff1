"""Seed the API benchmark's data: N snapshots of real 1080p frames (70-100 KB JPEGs) with thumbnails.

    createdb -h 127.0.0.1 -U postgres vas_bench
    .venv/bin/python bench/seed_snapshots.py [--count 20000] [--cameras 20]

The database is BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/vas_bench).

The frames are decoded from the test camera's 1080p media (encoded first if needed) and
re-encoded at the JPEG quality that lands each in 70-100 KB; rows reuse them in turn. The
thumbnails are made by the product's own resize_jpeg. Seeding again with the same numbers
does nothing; other numbers replace the earlier seed.
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from PIL import Image

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import PRODUCTION_ENV, database_url  # noqa: E402

MEDIA = BASE_DIR / ".cache" / "test-camera" / "h264_1080p.ts"
CAMERA_PREFIX = "bench-cam-"
MIN_FRAME_BYTES = 70_000
MAX_FRAME_BYTES = 100_000
INSERT_BATCH = 200


def decoded_frames(count: int) -> list[Image.Image]:
    """count frames spread over the test camera's 10 s of 1080p video."""
    if not MEDIA.exists():
        subprocess.run(
            ["/usr/bin/python3", str(BASE_DIR / "scripts/test_camera.py"), "--port", "0", "--encode-only"], check=True
        )
    with tempfile.TemporaryDirectory(prefix="vas-seed-") as work:
        argv = ["ffmpeg", "-v", "error", "-i", str(MEDIA), "-vf", f"fps={count / 10}", "-frames:v", str(count)]
        subprocess.run([*argv, f"{work}/frame%03d.png"], check=True)
        frames = []
        for path in sorted(Path(work).glob("frame*.png")):
            with Image.open(path) as frame:
                frames.append(frame.convert("RGB"))
        return frames


def jpeg_in_size_range(frame: Image.Image) -> bytes:
    """The frame as a JPEG of 70-100 KB: the highest quality that fits under the maximum."""
    low, high = 5, 95
    best = b""
    while low <= high:
        quality = (low + high) // 2
        out = io.BytesIO()
        frame.save(out, format="JPEG", quality=quality)
        if out.tell() <= MAX_FRAME_BYTES:
            best, low = out.getvalue(), quality + 1
        else:
            high = quality - 1
    if len(best) < MIN_FRAME_BYTES:
        raise SystemExit(f"no JPEG quality puts this frame in {MIN_FRAME_BYTES}-{MAX_FRAME_BYTES} bytes")
    return best


def seed(*, count: int, cameras: int, distinct_frames: int) -> None:
    from django.utils import timezone

    from devices.models import Device
    from snapshots import images
    from snapshots.models import Snapshot

    seeded = Snapshot.objects.filter(device__name__startswith=CAMERA_PREFIX)
    if seeded.count() == count and Device.objects.filter(name__startswith=CAMERA_PREFIX).count() == cameras:
        print(f"already seeded: {count} snapshots of {cameras} cameras")
        return
    Device.objects.filter(name__startswith=CAMERA_PREFIX).delete()
    started = time.monotonic()
    jpegs = [jpeg_in_size_range(frame) for frame in decoded_frames(distinct_frames)]
    rows = [(data, images.resize_jpeg(data, max_width_px=320), images.inspect_jpeg(data)) for data in jpegs]
    devices = [
        Device.objects.create(name=f"{CAMERA_PREFIX}{index:02d}", rtsp_url=f"rtsp://127.0.0.1:9/bench{index}")
        for index in range(cameras)
    ]
    newest = timezone.now()
    for start in range(0, count, INSERT_BATCH):
        batch = []
        for number in range(start, min(count, start + INSERT_BATCH)):
            image, thumbnail, info = rows[number % len(rows)]
            batch.append(
                Snapshot(device=devices[number % cameras], image=image, thumbnail=thumbnail, width=info.width,
                         height=info.height, file_size=len(image), trigger=Snapshot.Trigger.SCHEDULE,
                         captured_at=newest - timedelta(seconds=number * 60 // cameras))
            )  # fmt: skip
        Snapshot.objects.bulk_create(batch)
    sizes = sorted(len(image) for image, _, _ in rows)
    print(
        f"seeded {count} snapshots of {cameras} cameras in {time.monotonic() - started:.0f} s: "
        f"{len(rows)} distinct 1920x1080 frames of {sizes[0]}-{sizes[-1]} bytes, "
        f"thumbnails {min(len(t) for _, t, _ in rows)}-{max(len(t) for _, t, _ in rows)} bytes"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--distinct-frames", type=int, default=50)
    args = parser.parse_args()
    # DEBUG off: with it on, Django keeps every INSERT's SQL, megabytes of image bytes each.
    os.environ.update(PRODUCTION_ENV, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="vas_project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seed(count=args.count, cameras=args.cameras, distinct_frames=args.distinct_frames)


if __name__ == "__main__":
    main()
