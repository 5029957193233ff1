"""Celery tasks on a real worker with the real Redis on 127.0.0.1."""

import time
from datetime import timedelta

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from devices.models import Device
from jobs.models import Job
from snapshots.models import Snapshot
from snapshots.tasks import capture_device, enqueue_due_captures
from snapshots.tests.factories import make_snapshot
from vas_project.celery import app
from vas_project.chores import run_chore
from webhooks import services as webhook_services
from webhooks.models import Delivery, Webhook
from webhooks.tasks import send_due_webhooks
from webhooks.tests.test_webhooks import Receiver

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def worker():
    redis.Redis.from_url(REDIS_URL).flushdb()
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=20):
        yield
    redis.Redis.from_url(REDIS_URL).flushdb()


def wait_for(predicate, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_worker_captures_from_the_test_camera(camera, worker):
    device = Device.objects.create(name="worker cam", rtsp_url=camera.url("cam3"))
    result = capture_device.delay(str(device.pk)).get(timeout=30)
    assert result["ok"] is True
    snapshot = Snapshot.objects.get(pk=result["snapshot_id"])
    assert (snapshot.width, snapshot.trigger) == (640, "schedule")


@pytest.mark.django_db(transaction=True)
def test_beat_task_enqueues_only_due_devices_and_the_worker_captures_them(camera, refused_url, worker):
    Device.objects.create(name="due", rtsp_url=camera.url("cam2"), capture_interval_s=60)
    dead = Device.objects.create(name="dead", rtsp_url=refused_url, capture_interval_s=60)
    Device.objects.create(name="unscheduled", rtsp_url=camera.url("cam1"))
    assert enqueue_due_captures.delay().get(timeout=30) == 2
    assert wait_for(lambda: Device.objects.get(pk=dead.pk).last_error != "")
    assert wait_for(lambda: Snapshot.objects.filter(device__name="due").exists())
    assert not Snapshot.objects.filter(device__name="unscheduled").exists()
    assert enqueue_due_captures.delay().get(timeout=30) == 0  # the same slot is not claimed twice


@pytest.mark.django_db(transaction=True)
def test_prune_task_applies_retention(device, worker):
    device.retention_max_snapshots = 1
    device.save()
    newest, *older = [make_snapshot(device, captured_at=timezone.now() - timedelta(hours=h)) for h in (1, 2, 3)]
    assert run_chore.delay("prune-snapshots").get(timeout=30) == 2
    assert list(Snapshot.objects.values_list("pk", flat=True)) == [newest.pk]


def test_unknown_device_is_reported_like_the_api(db):
    assert capture_device("00000000-0000-0000-0000-000000000000") == {
        "device_id": "00000000-0000-0000-0000-000000000000",
        "ok": False,
        "code": "device_not_found",
        "detail": "No camera with that id or name.",
    }


@pytest.mark.django_db
def test_a_broker_down_at_enqueue_gives_every_slot_back_after_one_try(refused_url, monkeypatch, caplog):
    # The broker is the collaborator here: its failure as kombu raises it when publishing.
    from kombu.exceptions import OperationalError

    tries = []

    def broker_down(*args, **kwargs):
        tries.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    devices = [Device.objects.create(name=f"due {n}", rtsp_url=refused_url, capture_interval_s=3600) for n in range(3)]
    monkeypatch.setattr(capture_device, "delay", broker_down)
    assert enqueue_due_captures() == 0
    # One wait on a broker that is down, not one per camera (a hanging broker takes seconds each).
    assert len(tries) == 1
    for device in devices:
        device.refresh_from_db()
        assert device.next_capture_at <= timezone.now()  # due again at the next tick, not in an hour
    assert "failed (OperationalError); it and 2 more are due again" in caplog.text
    monkeypatch.undo()
    queued = []
    monkeypatch.setattr(capture_device, "delay", lambda device_id: queued.append(device_id))
    assert enqueue_due_captures() == 3
    assert sorted(queued) == sorted(str(device.pk) for device in devices)


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_a_worker_sends_the_webhook_and_beat_sends_its_retry(camera, worker, settings, monkeypatch):
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.WEBHOOK_RETRY_BASE_S = 0.1
    monkeypatch.setattr(webhook_services, "SWEEP_GRACE_S", 0)
    receiver = Receiver(statuses=[500])
    try:
        Webhook.objects.create(url=receiver.url, events=["snapshot.created"], secret="a-secret-for-celery-0123")
        device = Device.objects.create(name="worker cam", rtsp_url=camera.url("cam4"), live=False)
        assert capture_device.delay(str(device.pk)).get(timeout=30)["ok"] is True
        assert wait_for(lambda: Delivery.objects.filter(attempts=1, last_status=500).exists())
        time.sleep(0.2)
        assert send_due_webhooks.delay().get(timeout=30) == 1
        assert wait_for(lambda: Delivery.objects.filter(state="succeeded", attempts=2).exists())
        assert [request["payload"]["event"] for request in receiver.requests] == ["snapshot.created"] * 2
    finally:
        receiver.close()


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_an_export_job_runs_on_the_worker(api, device, worker, settings, tmp_path):
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.EXPORT_DIR = tmp_path
    settings.CAMERAS_VISIBLE_TO_ALL = True
    make_snapshot(device, captured_at=timezone.now() - timedelta(minutes=1))
    start, end = timezone.now() - timedelta(hours=1), timezone.now()
    body = {"device_id": str(device.pk), "start": start.isoformat(), "end": end.isoformat(), "kind": "timelapse"}
    job = api.post("/api/exports/", body, format="json").json()
    assert wait_for(lambda: Job.objects.get(pk=job["id"]).state == "succeeded")
    assert [path.suffix for path in tmp_path.iterdir()] == [".mp4"]
