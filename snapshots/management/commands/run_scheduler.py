"""The in-process scheduler: scheduled captures and the chores of settings.CHORES without any broker.

Safe to run more than once at a time: devices are claimed slot by slot.
"""

import logging
import time
from typing import Any

from django import db
from django.core.management.base import BaseCommand, CommandParser

from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat
from snapshots.management.commands.capture_snapshot import result_as_line
from snapshots.services import snapshot_capture_due
from vas_project.chores import chore_every_s, chore_names, chore_run, chore_said

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Capture from devices whose capture interval has elapsed, and run the periodic chores, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tick-s", type=float, default=5, help="seconds between checks for due devices")
        parser.add_argument("--once", action="store_true", help="one tick (every chore too), then exit")

    def handle(self, *args: Any, tick_s: float, once: bool, **options: Any) -> None:
        # When each chore last ran, on time.monotonic()'s clock: every chore runs at the first tick.
        ran_at: dict[str, float] = {}
        while True:
            try:
                heartbeat_beat(component=Heartbeat.Component.SCHEDULER)
                for result in snapshot_capture_due():
                    self.stdout.write(f"scheduled {result_as_line(result)}")
                self._run_due_chores(ran_at)
            except Exception:  # a failed tick (database away) must not stop every scheduled capture
                logger.exception("scheduler tick failed; trying again in %s s", tick_s)
                db.close_old_connections()
            if once:
                return
            time.sleep(tick_s)

    def _run_due_chores(self, ran_at: dict[str, float]) -> None:
        for name in chore_names():
            if name in ran_at and time.monotonic() - ran_at[name] < chore_every_s(name):
                continue
            done = chore_run(name)
            ran_at[name] = time.monotonic()
            if done:
                self.stdout.write(chore_said(name, done))
