"""What every management command that prints progress or results shares."""

import logging
from typing import Any

from django.core.management.base import BaseCommand

from vas_project.logs import console_quiet_below


class ResultCommand(BaseCommand):
    """A command whose output is its results (lines, a progress bar): on a terminal, log lines
    below WARNING stay out of it, so they neither repeat each result nor break into the bar.
    They still go to a log file (VAS_LOG_FILE), and everywhere when no terminal reads them."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        stream = options.get("stdout") or self.stdout
        if not stream.isatty():
            return super().execute(*args, **options)
        with console_quiet_below(logging.WARNING):
            return super().execute(*args, **options)
