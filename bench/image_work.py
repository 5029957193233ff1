"""Image work per 1080p frame: the stored 320 px thumbnail and a ?width= downscale.

    .venv/bin/python bench/image_work.py [--runs 50]

The frame is a real one from the test camera's 1080p media (encoded first if needed).
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
MEDIA = BASE_DIR / ".cache" / "test-camera" / "h264_1080p.ts"


def one_frame() -> bytes:
    if not MEDIA.exists():
        subprocess.run(
            ["/usr/bin/python3", str(BASE_DIR / "scripts/test_camera.py"), "--port", "0", "--encode-only"], check=True
        )
    argv = [
        "ffmpeg",
        "-v",
        "error",
        "-i",
        str(MEDIA),
        "-frames:v",
        "1",
        "-q:v",
        "2",
        "-f",
        "image2pipe",
        "-c:v",
        "mjpeg",
        "-",
    ]
    return subprocess.run(argv, check=True, capture_output=True).stdout


def timed_ms(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    from snapshots import images

    frame = one_frame()
    print(f"image work on one 1920x1080 frame ({len(frame)} bytes), {args.runs} runs each")
    print("| operation | p50 ms | mean ms |")
    print("|---|---|---|")
    for name, width in (("thumbnail (320 px)", 320), ("?width=640", 640), ("?width=1280", 1280)):
        times = timed_ms(lambda width=width: images.resize_jpeg(frame, max_width_px=width), args.runs)
        print(f"| {name} | {statistics.median(times):.1f} | {statistics.mean(times):.1f} |")
    times = timed_ms(lambda: images.inspect_jpeg(frame), args.runs)
    print(f"| validate + read size | {statistics.median(times):.1f} | {statistics.mean(times):.1f} |")


if __name__ == "__main__":
    main()
