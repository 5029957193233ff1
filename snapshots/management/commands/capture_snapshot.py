"""Capture snapshots from the command line, e.g. from cron.

Exit status: 0 when every camera was captured, 1 when some failed, 2 on bad usage.
"""

import json
import sys
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from devices.models import Device
from devices.selectors import devices_select
from snapshots.models import Snapshot
from snapshots.services import CaptureResult, snapshot_capture_many
from vas_project.commands import ResultCommand

# Bad usage exits 2, as argparse does, so scripts can tell it from failed captures.
BAD_USAGE = 2


def result_as_dict(result: CaptureResult) -> dict[str, Any]:
    """A camera's row, with `code` and `detail` on failure like the API's answers."""
    row: dict[str, Any] = {**result.as_dict(), "device": result.device_name}
    if result.device is None:
        del row["device_id"]  # a reference that names no camera may be a name: it stands under "device"
    if result.elapsed_s is not None:
        row["elapsed_s"] = round(result.elapsed_s, 3)
    if result.snapshot is not None:
        snapshot = result.snapshot
        row.update(width=snapshot.width, height=snapshot.height, file_size=snapshot.file_size)
    return row


def result_as_line(result: CaptureResult) -> str:
    if result.snapshot is not None:
        snapshot = result.snapshot
        return (
            f"OK    {result.device_name}: {snapshot.width}x{snapshot.height}, {snapshot.file_size} bytes, "
            f"{result.elapsed_s:.2f}s, snapshot {snapshot.pk}"
        )
    line = f"FAIL  {result.device_name}: {result.code}: {result.detail}"
    return line if result.elapsed_s is None else f"{line} ({result.elapsed_s:.2f}s)"


def progress_bar(done: int, total: int, *, width: int = 30) -> str:
    filled = round(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


# On a terminal the bar is redrawn in place under the result lines: back to the line's start, clear it.
CLEAR_LINE = "\r\x1b[K"


class Command(ResultCommand):
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
        terminal = not options["json"] and self.stdout.isatty()
        done = 0

        def finished(result: CaptureResult) -> None:
            nonlocal done
            done += 1
            if terminal:
                self.stdout.write(CLEAR_LINE + result_as_line(result))
                self.stdout.write(progress_bar(done, len(devices)), ending="")
                self.stdout.flush()
            else:
                self.stdout.write(result_as_line(result))

        if terminal:
            self.stdout.write(progress_bar(0, len(devices)), ending="")
            self.stdout.flush()
        results = snapshot_capture_many(
            devices=devices,
            trigger=Snapshot.Trigger.COMMAND,
            force=options["force"],
            concurrency=options["concurrency"],
            on_result=None if options["json"] else finished,
        )
        if terminal:
            self.stdout.write(CLEAR_LINE, ending="")
        not_found = [CaptureResult.not_found(reference) for reference in missing]
        failed = len([result for result in [*results, *not_found] if not result.ok])
        total = len(results) + len(not_found)
        total_s = time.monotonic() - started
        if options["json"]:
            rows = [result_as_dict(result) for result in [*results, *not_found]]
            summary = {"captured": total - failed, "failed": failed, "elapsed_s": total_s}
            self.stdout.write(json.dumps({"results": rows, **summary}))
        else:
            for result in not_found:
                self.stdout.write(result_as_line(result))
            self.stdout.write(f"captured {total - failed} of {total}, {failed} failed, in {total_s:.1f}s")
        if failed:
            sys.exit(1)

    def selected_devices(self, options: dict[str, Any]) -> tuple[list[Device], list[str]]:
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1", returncode=BAD_USAGE)
        if options["all"] and options["devices"]:
            raise CommandError("give device ids or names, or --all, not both", returncode=BAD_USAGE)
        if not options["all"] and not options["devices"]:
            raise CommandError("give device ids or names, or --all", returncode=BAD_USAGE)
        selection = devices_select(user=None, references=options["devices"], all_enabled=options["all"])
        return selection.devices, selection.missing
