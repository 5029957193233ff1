"""The stream keeper: one RTSP session per live camera, publishing each camera's newest keyframe.

Run one per machine or more: `--shard K/N` splits the cameras by id, and leases make sure
no camera is held twice.
"""

import re
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from snapshots.keeper import Keeper


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"([0-9]{1,4})/([0-9]{1,4})", text)
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise CommandError(f"--shard must be K/N with 1 <= K <= N, such as 1/2; got {text!r}.")
    return int(match[1]), int(match[2])


class Command(BaseCommand):
    help = "Hold one live session to every enabled camera whose live mode is on, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shard", default="1/1", help="hold only the cameras of shard K of N (default 1/1)")

    def handle(self, *args: Any, shard: str, **options: Any) -> None:
        keeper = Keeper(shard=parse_shard(shard))
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: keeper.stop())
        self.stdout.write(f"stream keeper {keeper.name} holding shard {shard}")
        keeper.run()
