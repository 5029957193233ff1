"""One table of chores (settings.CHORES), read by both schedulers."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils.module_loading import import_string

from vas_project.chores import chore_run


def test_celery_beat_runs_every_chore_of_the_table_at_its_period():
    beat = {
        entry["args"][0]: entry["schedule"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "vas_project.chores.run_chore"
    }
    assert beat == {chore["name"]: chore["every_s"] for chore in settings.CHORES}


@pytest.mark.parametrize("chore", settings.CHORES, ids=lambda chore: chore["name"])
def test_every_chore_names_a_function(chore):
    assert callable(import_string(chore["call"]))


@pytest.mark.django_db
def test_the_in_process_scheduler_runs_every_chore_of_the_table(settings, monkeypatch):
    ran = []
    settings.CHORES = [
        {"name": "first", "every_s": 3600.0, "call": "vas_project.tests.test_chores.counted", "says": "first did {}"},
        {"name": "second", "every_s": 3600.0, "call": "vas_project.tests.test_chores.idle", "says": "second did {}"},
    ]
    monkeypatch.setattr("vas_project.tests.test_chores.RAN", ran)
    out = StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    assert ran == ["counted", "idle"]
    # A chore that did something says so; one that did nothing is quiet.
    assert "first did 3" in out.getvalue()
    assert "second did" not in out.getvalue()


@pytest.mark.django_db
def test_a_chore_returns_what_it_did():
    assert chore_run("prune-snapshots") == 0


RAN: list[str] = []


def counted() -> int:
    RAN.append("counted")
    return 3


def idle() -> int:
    RAN.append("idle")
    return 0
