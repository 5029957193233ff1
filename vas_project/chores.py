"""The periodic chores of settings.CHORES, run by whichever scheduler runs: `manage.py
run_scheduler` in-process, or Celery beat through run_chore. Each names what it calls by
dotted path, so the kernel imports no app."""

from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils.module_loading import import_string


def chore_get(name: str) -> dict[str, Any]:
    return next(chore for chore in settings.CHORES if chore["name"] == name)


def chore_names() -> list[str]:
    return [str(chore["name"]) for chore in settings.CHORES]


def chore_every_s(name: str) -> float:
    return float(chore_get(name)["every_s"])


def chore_run(name: str) -> int:
    """Run the chore now; what it did, as a number (rows, files, deliveries)."""
    return int(import_string(chore_get(name)["call"])())


def chore_said(name: str, done: int) -> str:
    return str(chore_get(name)["says"]).format(done)


@shared_task(name="vas_project.chores.run_chore")
def run_chore(name: str) -> int:
    return chore_run(name)
