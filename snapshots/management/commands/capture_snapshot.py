"""Capture snapshots from the command line, e.g. from cron.

Exit status: 0 when every camera was captured, 1 when some failed, 2 on bad usage.
"""

import json
import sys
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devices.models import Device
from snapshots.models import Snapshot
from snapshots.services import CaptureResult, snapshot_capture_many

# Bad usage exits 2, as argparse does, so scripts can tell it from failed captures.
BAD_USAGE = 2


def find_devices(references: list[str]) -> tuple[list[Device], list[str]]:
    """The devices named by id or name, and the references that match none."""
    found, missing = [], []
    for reference in references:
        try:
            lookup: dict[str, object] = {"pk": uuid.UUID(reference)}
        except ValueError:
            lookup = {"name": reference}
        device = Device.objects.filter(**lookup).first()
        if device is None:
            missing.append(reference)
        else:
            found.append(device)
    return found, missing


def result_as_dict(result: CaptureResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "device_id": str(result.device.pk),
        "device": result.device.name,
        "ok": result.error is None,
        "elapsed_s": round(result.elapsed_s, 3),
    }
    if result.snapshot is not None:
        row.update(snapshot_id=str(result.snapshot.pk), width=result.snapshot.width, height=result.snapshot.height)
        row["file_size"] = result.snapshot.file_size
    if result.error is not None:
        row.update(code=result.error.code, error=str(result.error))
    return row


def result_as_line(result: CaptureResult) -> str:
    if result.snapshot is not None:
        snapshot = result.snapshot
        return (
            f"OK    {result.device.name}: {snapshot.width}x{snapshot.height}, {snapshot.file_size} bytes, "
            f"{result.elapsed_s:.2f}s, snapshot {snapshot.pk}"
        )
    assert result.error is not None  # noqa: S101
    return f"FAIL  {result.device.name}: {result.error.code}: {result.error} ({result.elapsed_s:.2f}s)"


class Command(BaseCommand):
    help = "Capture a snapshot from the cameras given by id or name, or from every enabled camera with --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("devices", nargs="*", help="device ids or names")
        parser.add_argument("--all", action="store_true", help="every enabled device")
        parser.add_argument("--concurrency", type=int, default=None, help="parallel captures (default: setting)")
        parser.add_argument("--force", action="store_true", help="try cameras known to be offline too")
        parser.add_argument("--json", action="store_true", help="print one JSON document for scripts")

    def handle(self, *args: Any, **options: Any) -> None:
        devices, missing = self.selected_devices(options)
        started = time.monotonic()
        results = snapshot_capture_many(
            devices=devices,
            trigger=Snapshot.Trigger.COMMAND,
            force=options["force"],
            concurrency=options["concurrency"],
            on_result=None if options["json"] else lambda result: self.stdout.write(result_as_line(result)),
        )
        failed = len([r for r in results if r.error is not None]) + len(missing)
        total_s = time.monotonic() - started
        if options["json"]:
            rows = [result_as_dict(r) for r in results]
            rows += [{"device": name, "ok": False, "code": "device_not_found"} for name in missing]
            summary = {"captured": len(results) + len(missing) - failed, "failed": failed, "elapsed_s": total_s}
            self.stdout.write(json.dumps({"results": rows, **summary}))
        else:
            for name in missing:
                self.stdout.write(f"FAIL  {name}: device_not_found: No camera with that id or name.")
            total = len(results) + len(missing)
            self.stdout.write(f"captured {total - failed} of {total}, {failed} failed, in {total_s:.1f}s")
        if failed:
            sys.exit(1)

    def selected_devices(self, options: dict[str, Any]) -> tuple[list[Device], list[str]]:
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1", returncode=BAD_USAGE)
        if options["all"] and options["devices"]:
            raise CommandError("give device ids or names, or --all, not both", returncode=BAD_USAGE)
        if options["all"]:
            return list(Device.objects.filter(enabled=True)), []
        if not options["devices"]:
            raise CommandError("give device ids or names, or --all", returncode=BAD_USAGE)
        return find_devices(options["devices"])
