"""What a capture request walks through the product's code: the product files it enters, the
distinct product functions it calls, and the deepest nesting of product calls, traced (not
timed) over one one-shot POST /api/snapshots/capture/<id> against the test camera.

    .venv/bin/python bench/capture_walk.py

Library frames (Django, DRF, PyAV) are passed through but not counted; a product function is one
defined under the repository's own folders, tests and bench left out.
"""

import os
import sys
import tempfile
import threading
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
LEFT_OUT = ("tests", "bench", "migrations", ".venv")


def product_path(filename: str) -> str | None:
    path = Path(filename)
    if not path.is_absolute() or BASE_DIR not in path.parents:
        return None
    relative = path.relative_to(BASE_DIR)
    return None if any(part in LEFT_OUT for part in relative.parts) else str(relative)


class Tracer:
    def __init__(self) -> None:
        self.files: set[str] = set()
        self.functions: set[str] = set()
        self.depth = self.deepest = 0
        # Calls from one package into another (the kernel vas_project/ left out: everyone uses it),
        # and how often each package was entered so.
        self.crossings = 0
        self.entered: dict[str, int] = {}
        self.stacks: dict[int, list[str]] = {}
        self.lock = threading.Lock()

    def __call__(self, frame, event, arg):  # type: ignore[no-untyped-def]
        path = product_path(frame.f_code.co_filename)
        if path is None:
            return
        package = path.split("/")[0]
        with self.lock:
            stack = self.stacks.setdefault(threading.get_ident(), [])
            if event == "call":
                self.files.add(path)
                self.functions.add(f"{path}:{frame.f_code.co_qualname}")
                self.depth += 1
                self.deepest = max(self.deepest, self.depth)
                caller = next((name for name in reversed(stack) if name != "vas_project"), None)
                if package != "vas_project" and caller is not None and caller != package:
                    self.crossings += 1
                    self.entered[package] = self.entered.get(package, 0) + 1
                stack.append(package)
            elif event == "return":
                self.depth -= 1
                if stack:
                    stack.pop()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="vas-walk-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'walk.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from devices.models import Device
    from snapshots.tests.servers import start_test_camera, stop_process

    call_command("migrate", verbosity=0)
    camera = start_test_camera(work, paths=1)
    try:
        device = Device.objects.create(name="walk", rtsp_url=camera.url("cam0"), live=False)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.create_superuser("walker", "w@example.com", None))
        client.post(f"/api/snapshots/capture/{device.pk}")  # warm: imports and first-use work
        tracer = Tracer()
        threading.setprofile(tracer)
        sys.setprofile(tracer)
        response = client.post(f"/api/snapshots/capture/{device.pk}")
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    finally:
        stop_process(camera.process)
    print(f"status {response.status_code}")
    print(f"{len(tracer.files)} product files, {len(tracer.functions)} product functions, depth {tracer.deepest}")
    print(f"{tracer.crossings} calls from one app into another:", tracer.entered)
    folders = sorted({path.split("/")[0] for path in tracer.files})
    print("packages entered:", ", ".join(folders))
    for path in sorted(tracer.files):
        print("  ", path)


if __name__ == "__main__":
    main()
