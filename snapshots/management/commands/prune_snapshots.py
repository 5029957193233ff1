from typing import Any

from django.core.management.base import CommandError, CommandParser

from snapshots.retention import snapshot_prune
from vas_project.chores import chore_run
from vas_project.commands import ResultCommand


class Command(ResultCommand):
    help = (
        "Delete snapshots past each camera's retention (days and/or count); snapshots marked keep stay. "
        "Remove the export files whose links have expired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        verb = "would delete" if dry_run else "deleted"
        total = 0
        failed = 0
        for result in snapshot_prune(dry_run=dry_run):
            total += result.deleted
            if result.error is not None:
                failed += 1
                self.stdout.write(f"{result.device.name}: FAILED ({result.error})")
            else:
                self.stdout.write(f"{result.device.name}: {verb} {result.deleted}")
        self.stdout.write(f"{verb} {total} snapshot(s) in all")
        if not dry_run:
            self.stdout.write(f"removed {chore_run('prune-exports')} expired export(s)")
        if failed:
            raise CommandError(f"{failed} camera(s) could not be pruned; see the log.")
