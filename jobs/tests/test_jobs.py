"""Jobs: a batch capture as a job, followed, cancelled, and failed when its worker died."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from conftest import bearer_client
from devices.models import Device
from jobs.models import Job
from jobs.services import WORKER_GONE, jobs_fail_stale
from snapshots.models import Snapshot


def wait_for_job(api, url: str, *, timeout_s: float = 60, until=lambda body: body["state"] != "running") -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = api.get(url).json()
        if body["state"] not in ("queued",) and until(body):
            return body
        assert time.monotonic() < deadline, f"the job is still {body['state']}: {body['progress']}"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_an_async_batch_of_32_cameras_finishes_with_a_row_per_camera_and_its_progress(api, camera, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    devices = [
        Device.objects.create(name=f"wall {index:02d}", rtsp_url=camera.url(f"cam{index % 8}"), live=False)
        for index in range(32)
    ]
    response = api.post("/api/snapshots/capture/", {"all": True, "async": True}, format="json")
    assert response.status_code == 202
    assert response.json()["state"] in ("queued", "running")
    seen_progress = []
    body = wait_for_job(
        api,
        response["Location"],
        until=lambda body: seen_progress.append(body["progress"]["done"]) or body["state"] != "running",
    )
    assert body["state"] == "succeeded", body
    assert body["progress"] == {"done": 32, "total": 32}
    assert body["result"]["captured"] == 32
    assert [row["device_id"] for row in body["result"]["results"]] == [str(device.pk) for device in devices]
    assert all(row["ok"] and row["snapshot"]["id"] and row["elapsed_ms"] > 0 for row in body["result"]["results"])
    assert Snapshot.objects.count() == 32
    assert any(0 < done < 32 for done in seen_progress)  # progress was visible while it ran


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_the_cameras_not_yet_started(api, silent_server, settings):
    settings.CAPTURE_TIMEOUT_S = 1.5
    settings.CAPTURE_CONCURRENCY = 1
    for index in range(4):
        Device.objects.create(name=f"silent {index}", rtsp_url=silent_server.url(f"s{index}"), live=False)
    job_url = api.post("/api/snapshots/capture/", {"all": True, "async": True}, format="json")["Location"]
    wait_for_job(api, job_url, timeout_s=10, until=lambda body: body["state"] == "running")
    cancelled = api.post(f"{job_url}/cancel").json()
    assert cancelled["cancel_requested"] is True
    body = wait_for_job(api, job_url, timeout_s=20)
    assert body["state"] == "cancelled"
    codes = [row["code"] for row in body["result"]["results"]]
    assert codes.count("cancelled") >= 2  # the first camera was under way, the last ones never started
    assert set(codes) <= {"timeout", "cancelled"}


def test_a_running_job_whose_heartbeat_stopped_is_failed_when_read(api, admin_user, settings):
    settings.JOB_STALE_S = 30
    job = Job.objects.create(kind="capture_batch", state="running", requested_by=admin_user)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    fresh = Job.objects.create(kind="capture_batch", state="running", heartbeat_at=timezone.now())
    body = api.get(f"/api/jobs/{job.pk}").json()
    assert (body["state"], body["error"]) == ("failed", WORKER_GONE)
    assert body["finished_at"]
    assert jobs_fail_stale() == 0
    assert Job.objects.get(pk=fresh.pk).state == "running"


def test_without_a_broker_a_job_never_started_is_failed_too(api, admin_user, settings):
    settings.JOB_STALE_S = 30
    never_started = Job.objects.create(kind="capture_batch", requested_by=admin_user)
    Job.objects.filter(pk=never_started.pk).update(created_at=timezone.now() - timedelta(seconds=31))
    just_queued = Job.objects.create(kind="capture_batch", requested_by=admin_user)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/13"  # with a broker, a queue may be long
    assert jobs_fail_stale() == 0
    settings.CELERY_BROKER_URL = ""
    assert jobs_fail_stale() == 1
    assert Job.objects.get(pk=never_started.pk).state == "failed"
    assert Job.objects.get(pk=just_queued.pk).state == "queued"


def test_users_see_their_own_jobs_and_staff_see_all(api, admin_user, db):
    alice = User.objects.create_user("alice")
    alice.user_permissions.set(Permission.objects.filter(codename__in=["add_snapshot"]))
    mine = Job.objects.create(kind="capture_batch", requested_by=alice)
    theirs = Job.objects.create(kind="capture_batch", requested_by=admin_user)
    alice_api = bearer_client(alice)
    assert [row["id"] for row in alice_api.get("/api/jobs/").json()["results"]] == [str(mine.pk)]
    response = alice_api.get(f"/api/jobs/{theirs.pk}")
    assert (response.status_code, response.json()["code"]) == (404, "job_not_found")
    assert alice_api.post(f"/api/jobs/{theirs.pk}/cancel").status_code == 404
    assert len(api.get("/api/jobs/").json()["results"]) == 2


def test_staff_who_see_only_their_groups_cameras_see_only_their_own_jobs(admin_user, settings, db):
    # Another's export may be of a camera they cannot see: its result links to its images.
    settings.CAMERAS_VISIBLE_TO_ALL = False
    clerk = User.objects.create_user("clerk", is_staff=True)
    mine = Job.objects.create(kind="export", requested_by=clerk)
    Job.objects.create(kind="export", requested_by=admin_user)
    assert [row["id"] for row in bearer_client(clerk).get("/api/jobs/").json()["results"]] == [str(mine.pk)]
    settings.CAMERAS_VISIBLE_TO_ALL = True
    assert len(bearer_client(clerk).get("/api/jobs/").json()["results"]) == 2


def test_cancelling_a_queued_job_cancels_it_at_once_and_a_finished_one_stays(api, admin_user):
    queued = Job.objects.create(kind="capture_batch", requested_by=admin_user)
    body = api.post(f"/api/jobs/{queued.pk}/cancel").json()
    assert (body["state"], body["cancel_requested"]) == ("cancelled", True)
    done = Job.objects.create(kind="capture_batch", requested_by=admin_user, state="succeeded")
    assert api.post(f"/api/jobs/{done.pk}/cancel").json()["state"] == "succeeded"


def test_jobs_need_a_login(anonymous_api):
    assert anonymous_api.get("/api/jobs/").status_code == 401
