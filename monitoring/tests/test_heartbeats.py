"""Each background process writes its heartbeat: the keeper, the scheduler (ours or Celery beat's
task) and a Celery worker."""

import pytest
from django.core.management import call_command

from monitoring.models import Heartbeat
from monitoring.services import process_name
from monitoring.tasks import beat_while_working, stop_beating
from snapshots.keeper import Keeper
from snapshots.tasks import enqueue_due_captures
from snapshots.tests.servers import wait_for


def beats(component: str) -> list[str]:
    return list(Heartbeat.objects.filter(component=component).values_list("name", flat=True))


@pytest.mark.django_db
def test_the_keeper_and_both_schedulers_beat():
    keeper = Keeper()
    keeper.tick()
    assert beats("keeper") == [keeper.name]
    call_command("run_scheduler", "--once")
    enqueue_due_captures()
    assert sorted(beats("scheduler")) == sorted(["celery beat", process_name()])


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_beats_until_it_shuts_down():
    thread = beat_while_working()
    try:
        wait_for(lambda: bool(beats("worker")), timeout_s=10, what="the worker's heartbeat")
    finally:
        stop_beating()
        thread.join(timeout=10)
    assert not thread.is_alive()
