"""The camera wall in a real browser: how long until 32 cameras' frames are painted, and what a
refresh round costs.

On the demo's server (`manage.py runserver`, SQLite, DEBUG on) with a fresh database of its own:
32 cameras, each with one 1920x1080 snapshot, and a user who may view them. Chromium (Playwright)
logs in, then opens the wall --runs times in a new browser context each (a cold cache): the time
from navigation start to the moment every tile's image has loaded (naturalWidth > 0), as the
browser measures it (performance.now()). Then one refresh round on a warm page: the requests it
makes and how the server answered them (its log: 304 or 200).

    .venv/bin/python bench/wall_paint.py [--cameras 32] [--runs 5]

Nothing here asserts on time; it exits 1 when a frame does not load or a round is not all 304s.
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import percentile  # noqa: E402
from snapshots.tests.servers import free_port, stop_process  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "wall-bench-pass-123"  # noqa: S105 - a benchmark user's


def seed(cameras: int) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import Permission, User
    from django.core.management import call_command
    from PIL import Image, ImageDraw

    from devices.models import Device
    from snapshots import images
    from snapshots.models import Snapshot

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("wall", password=PASSWORD)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_device", "view_snapshot"]))
    for number in range(cameras):
        picture = Image.new("RGB", (1920, 1080), (20 + number * 7 % 200, 90, 160))
        ImageDraw.Draw(picture).text((100, 100), f"camera {number + 1}", fill=(255, 255, 0))
        out = io.BytesIO()
        picture.save(out, format="JPEG", quality=85)
        data = out.getvalue()
        device = Device.objects.create(name=f"Camera {number + 1:02d}", rtsp_url=f"rtsp://127.0.0.1:1/{number}")
        Snapshot.objects.create(
            device=device,
            image=data,
            thumbnail=images.resize_jpeg(data, max_width_px=320),
            width=1920,
            height=1080,
            file_size=len(data),
            trigger="api",
        )


def open_wall(browser: Any, base: str) -> tuple[Any, Any]:
    """A new browser context (a cold cache), logged in as the benchmark's user, on the wall."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "wall")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return context, page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="wall-bench-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "DJANGO_DEBUG": "true"}
    env["VAS_LIVE_DIR"] = str(work / "live")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")
    seed(args.cameras)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (work / "server.log").open("w+b")
    argv = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    failures = []
    try:
        time.sleep(2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
            paints = []
            for _ in range(args.runs):
                context, page = open_wall(browser, base)
                page.reload()  # measured: the wall itself, logged in
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.tile img')].every(img => !img.hidden && img.complete"
                    " && img.naturalWidth > 0)",
                    timeout=30_000,
                )
                paints.append(page.evaluate("() => performance.now()"))
                context.close()
            context, page = open_wall(browser, base)
            page.wait_for_function("() => document.querySelectorAll('.tile img:not([hidden])').length > 0")
            page.wait_for_timeout(1000)
            log.seek(0, io.SEEK_END)
            start = log.tell()
            page.evaluate("() => document.dispatchEvent(new Event('vas:refresh'))")
            page.wait_for_timeout(3000)
            log.seek(start)
            answers = re.findall(rb'"GET /cameras/[^ ]+/frame\.jpg HTTP/1\.1" (\d{3})', log.read())
            browser.close()
    finally:
        stop_process(server)
    statuses = [int(status) for status in answers]
    print(f"\n## The camera wall, {args.cameras} cameras, demo server (runserver, SQLite)\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| first full paint, p50 of {args.runs} cold loads | {percentile(paints, 0.5):.0f} ms |")
    print(f"| first full paint, slowest | {max(paints):.0f} ms |")
    print(f"| requests in one refresh round | {len(statuses)} |")
    print(f"| of them 304 Not Modified | {statuses.count(304)} |")
    if statuses != [304] * args.cameras:
        failures.append(f"a refresh round answered {statuses}, not {args.cameras} 304s")
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
