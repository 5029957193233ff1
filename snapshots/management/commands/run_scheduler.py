"""The in-process scheduler: scheduled captures and daily retention without any broker.

Safe to run more than once at a time: devices are claimed slot by slot.
"""

import logging
import time
from typing import Any

from django import db
from django.core.management.base import BaseCommand, CommandParser

from exports.services import exports_prune
from jobs.services import jobs_fail_stale
from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat
from snapshots.management.commands.capture_snapshot import result_as_line
from snapshots.services import snapshot_capture_due, snapshot_prune
from webhooks.services import webhook_send_due

logger = logging.getLogger(__name__)

PRUNE_EVERY_S = 24 * 3600


class Command(BaseCommand):
    help = "Capture from devices whose capture interval has elapsed, and prune daily, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tick-s", type=float, default=5, help="seconds between checks for due devices")
        parser.add_argument("--once", action="store_true", help="one tick, then exit")

    def handle(self, *args: Any, tick_s: float, once: bool, **options: Any) -> None:
        last_prune = 0.0
        while True:
            try:
                heartbeat_beat(component=Heartbeat.Component.SCHEDULER)
                for result in snapshot_capture_due():
                    self.stdout.write(f"scheduled {result_as_line(result)}")
                if failed := jobs_fail_stale():
                    self.stdout.write(f"failed {failed} job(s) whose worker stopped")
                if resent := webhook_send_due():
                    self.stdout.write(f"sending {resent} webhook delivery(ies) due again")
                if time.monotonic() - last_prune >= PRUNE_EVERY_S or once:
                    deleted = sum(result.deleted for result in snapshot_prune())
                    self.stdout.write(f"retention deleted {deleted} snapshot(s), {exports_prune()} expired export(s)")
                    last_prune = time.monotonic()
            except Exception:  # a failed tick (database away) must not stop every scheduled capture
                logger.exception("scheduler tick failed; trying again in %s s", tick_s)
                db.close_old_connections()
            if once:
                return
            time.sleep(tick_s)
