from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from snapshots.reencryption import snapshots_reencrypt
from vas_project.commands import ResultCommand


class Command(ResultCommand):
    help = (
        "Move every stored image to the current key: the newest of VAS_ENCRYPTION_KEYS with "
        "VAS_IMAGE_ENCRYPTION on, plain bytes with it off. Resumable; captures may go on meanwhile."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=50, help="rows read and written at a time")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        target = "the newest key" if settings.IMAGE_ENCRYPTION else "plain bytes (VAS_IMAGE_ENCRYPTION is off)"
        self.stdout.write(f"moving snapshots to {target}")

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"{done}/{total} snapshot(s)")

        result = snapshots_reencrypt(batch_size=batch_size, on_progress=progress)
        self.stdout.write(f"moved {result.moved} snapshot(s)")
        if result.unreadable:
            raise CommandError(
                f"{result.unreadable} snapshot(s) could not be decrypted: their key is not in VAS_ENCRYPTION_KEYS "
                "(add it back and run this again) or their bytes were altered. They were left as they are."
            )
