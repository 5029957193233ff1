"""Exports: a seeded range as a zip and as a timelapse, downloaded through the signed link,
bounded, cancelled, kept within the quotas on disk, and removed by the prune once expired (a
dead job's part at once)."""

import io
import json
import os
import subprocess
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image

from devices.models import Device
from exports.services import export_build, export_path, exports_prune
from jobs.models import Job
from jobs.services import WORKER_GONE, JobFailed, JobRun, job_run, jobs_fail_stale
from jobs.tests.test_jobs import wait_for_job
from snapshots.models import Snapshot
from snapshots.tests.factories import make_snapshot

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.CAMERAS_VISIBLE_TO_ALL = True
    return settings.EXPORT_DIR


def seed(device: Device, count: int, *, width: int = 640) -> list[Snapshot]:
    """count snapshots a minute apart from START, and one on each side of the range."""
    make_snapshot(device, captured_at=START - timedelta(seconds=1))
    make_snapshot(device, captured_at=START + timedelta(minutes=count))  # the range's end is excluded
    return [make_snapshot(device, captured_at=START + timedelta(minutes=n), width=width) for n in range(count)]


def export_request(device: Device, kind: str, count: int, **extra) -> dict:
    end = START + timedelta(minutes=count)
    return {"device_id": str(device.pk), "start": START.isoformat(), "end": end.isoformat(), "kind": kind, **extra}


def finished_export(api, body: dict) -> dict:
    response = api.post("/api/exports/", body, format="json")
    assert response.status_code == 202, response.json()
    job = wait_for_job(api, response["Location"], until=lambda job: job["state"] not in ("queued", "running"))
    assert job["state"] == "succeeded", job
    return job["result"]


def download(url: str):
    """The signed link fetched with no login at all."""
    parts = urlsplit(url)
    return Client().get(parts.path, dict(pair.split("=") for pair in parts.query.split("&")))


@pytest.mark.django_db(transaction=True)
def test_a_zip_export_holds_the_ranges_jpegs_named_by_capture_time(api, device):
    seeded = seed(device, 5)
    result = finished_export(api, export_request(device, "zip", 5))
    assert (result["kind"], result["frames"], result["content_type"]) == ("zip", 5, "application/zip")
    response = download(result["download_url"])
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="lobby-20261120T080000Z-20261120T080500Z.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"2026-11-20T08-0{n}-00.000Z.jpg" for n in range(5)]
    assert [archive.read(name) for name in archive.namelist()] == [bytes(row.image) for row in seeded]


@pytest.mark.django_db(transaction=True)
def test_a_zip_export_with_a_width_holds_downscaled_jpegs(api, device):
    seed(device, 2, width=1280)
    result = finished_export(api, export_request(device, "zip", 2, width=320))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download(result["download_url"]).streaming_content)))
    assert {Image.open(io.BytesIO(archive.read(name))).size for name in archive.namelist()} == {(320, 180)}


@pytest.mark.django_db(transaction=True)
def test_a_timelapse_export_is_an_mp4_ffprobe_reads_with_every_frame(api, device, tmp_path):
    seed(device, 20)
    result = finished_export(api, export_request(device, "timelapse", 20, fps=5, width=320))
    response = download(result["download_url"])
    assert response["Content-Type"] == "video/mp4"
    video = tmp_path / "timelapse.mp4"
    video.write_bytes(b"".join(response.streaming_content))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", str(video)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    facts = json.loads(probe.stdout)
    stream = facts["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 320, 180)
    assert int(stream["nb_read_frames"]) == 20
    assert float(facts["format"]["duration"]) == pytest.approx(4.0, abs=0.25)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [{"end": START.isoformat()}, {"kind": "gif"}, {"fps": 0}, {"fps": 61}, {"width": 8}, {"start": "yesterday"}],
)
def test_a_bad_export_request_is_a_400_naming_the_field(api, device, change):
    seed(device, 5)
    response = api.post("/api/exports/", {**export_request(device, "zip", 5), **change}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert set(response.json()["errors"]) == set(change)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_range_with_no_snapshot_is_refused_before_any_job(api, device):
    response = api.post("/api/exports/", export_request(device, "zip", 5), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "export_empty")
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_range_over_the_frame_or_byte_bound_is_refused(api, device, settings):
    seed(device, 4)
    settings.EXPORT_MAX_FRAMES = 3
    response = api.post("/api/exports/", export_request(device, "zip", 4), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "export_too_large")
    assert "VAS_EXPORT_MAX_FRAMES" in response.json()["detail"]
    settings.EXPORT_MAX_FRAMES = 100
    settings.EXPORT_MAX_BYTES = 1000
    response = api.post("/api/exports/", export_request(device, "zip", 4), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "export_too_large")
    assert "VAS_EXPORT_MAX_BYTES" in response.json()["detail"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_camera_the_user_may_not_see_is_not_found(viewer_api, device, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    seed(device, 1)
    response = viewer_api.post("/api/exports/", export_request(device, "zip", 1), format="json")
    assert (response.status_code, response.json()["code"]) == (404, "device_not_found")


@pytest.mark.django_db
def test_exports_need_a_login(anonymous_api, device):
    assert anonymous_api.post("/api/exports/", export_request(device, "zip", 1), format="json").status_code == 401


def export_job(device: Device, kind: str, count: int, **params) -> Job:
    body = export_request(device, kind, count)
    params = {**body, "device_name": device.name, "fps": 10, "width": None, **params}
    return Job.objects.create(kind=Job.Kind.EXPORT, params=params, state=Job.State.RUNNING, progress_total=count)


@pytest.mark.django_db
def test_a_cancelled_export_stops_and_leaves_no_file(device, export_dir):
    seed(device, 3)
    job = export_job(device, "zip", 3)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    assert export_build(JobRun(job)) == {"frames": 0}
    assert list(export_dir.iterdir()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["zip", "timelapse"])
def test_a_range_that_grew_past_the_bound_fails_the_job_and_leaves_no_file(device, export_dir, settings, kind):
    seed(device, 5)
    job = export_job(device, kind, 5)
    settings.EXPORT_MAX_FRAMES = 3
    with pytest.raises(JobFailed, match="VAS_EXPORT_MAX_FRAMES"):
        export_build(JobRun(job))
    assert list(export_dir.iterdir()) == []


@pytest.mark.django_db
def test_a_tampered_or_expired_link_is_refused(device, settings):
    seed(device, 1)
    result = export_build(JobRun(export_job(device, "zip", 1)))
    url = result["download_url"]
    assert download(url.replace("sig=", "sig=0")).json()["code"] == "link_invalid"
    assert download(url.replace("lobby-", "other-")).status_code == 403
    settings.EXPORT_TTL_S = -10
    expired = export_build(JobRun(export_job(device, "zip", 1)))["download_url"]
    response = download(expired)
    assert (response.status_code, response.json()["code"]) == (403, "link_expired")


@pytest.mark.django_db
def test_the_prune_removes_expired_exports_and_left_parts_and_a_link_to_one_answers_404(device, export_dir, settings):
    seed(device, 1)
    settings.EXPORT_TTL_S = 3600
    old = export_build(JobRun(export_job(device, "zip", 1)))
    fresh = export_build(JobRun(export_job(device, "timelapse", 1)))
    (export_dir / f".{uuid.uuid4()}.zip.part").write_bytes(b"PK")  # left by a killed worker
    two_hours_ago = time.time() - 7200
    for path in export_dir.iterdir():
        if path.suffix != ".mp4":
            os.utime(path, (two_hours_ago, two_hours_ago))
    out = io.StringIO()
    call_command("prune_snapshots", stdout=out)
    assert "removed 2 expired export(s)" in out.getvalue()
    assert [path.suffix for path in export_dir.iterdir()] == [".mp4"]
    response = download(old["download_url"])
    assert (response.status_code, response.json()["code"]) == (404, "export_not_found")
    assert download(fresh["download_url"]).status_code == 200
    assert exports_prune() == 0


@pytest.mark.django_db
def test_a_user_with_too_many_unfinished_exports_is_told_to_wait(api, admin_user, device, settings):
    seed(device, 2)
    settings.EXPORT_MAX_UNFINISHED = 1
    Job.objects.create(kind=Job.Kind.EXPORT, params={}, requested_by=admin_user, state=Job.State.RUNNING)
    Job.objects.filter(state=Job.State.RUNNING).update(heartbeat_at=timezone.now())
    response = api.post("/api/exports/", export_request(device, "zip", 2), format="json")
    assert (response.status_code, response.json()["code"]) == (429, "too_many_exports")
    Job.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))  # its worker died: it no longer counts
    assert api.post("/api/exports/", export_request(device, "zip", 2), format="json").status_code == 202


@pytest.mark.django_db
def test_an_export_cancelled_after_its_last_frame_leaves_no_file(device, export_dir, monkeypatch):
    seed(device, 3)
    job = export_job(device, "zip", 3)
    checks = iter([False, True])  # before the first frame: go on; once written: cancelled
    monkeypatch.setattr(JobRun, "cancelled", lambda run: next(checks))
    assert export_build(JobRun(job)) == {"frames": 3}
    assert list(export_dir.iterdir()) == []


@pytest.mark.django_db
def test_the_prune_removes_only_the_files_exports_write(device, export_dir):
    export_dir.mkdir(parents=True)
    someone_elses = export_dir / "notes.zip"
    someone_elses.write_bytes(b"not ours")
    long_ago = time.time() - 10 * 24 * 3600
    os.utime(someone_elses, (long_ago, long_ago))
    assert exports_prune() == 0
    assert someone_elses.exists()


def built(device: Device, user, kind: str = "zip", count: int = 1) -> Path:
    """A finished export of user's, as the worker leaves it: its file, its job succeeded."""
    job = export_job(device, kind, count)
    Job.objects.filter(pk=job.pk).update(requested_by=user)
    job.refresh_from_db()
    export_build(JobRun(job))
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    return export_path(job_id=job.pk, extension="zip" if kind == "zip" else "mp4")


def assert_refused(response, status: int, code: str, setting: str) -> None:
    assert response.status_code == status, response.json()
    body = response.json()
    assert (set(body), body["code"]) == ({"detail", "code"}, code)
    assert setting in body["detail"]
    assert 0 < int(response["Retry-After"]) <= 24 * 3600  # when the oldest file in the way expires


@pytest.mark.django_db
def test_a_user_at_their_byte_quota_gets_a_429_and_nothing_is_written(viewer_api, viewer_user, device, settings):
    seed(device, 2)
    held = built(device, viewer_user)
    settings.EXPORT_USER_MAX_BYTES = held.stat().st_size
    files, jobs = sorted(settings.EXPORT_DIR.iterdir()), Job.objects.count()
    response = viewer_api.post("/api/exports/", export_request(device, "timelapse", 2), format="json")
    assert_refused(response, 429, "export_quota_exceeded", "VAS_EXPORT_USER_MAX_BYTES")
    assert (sorted(settings.EXPORT_DIR.iterdir()), Job.objects.count()) == (files, jobs)
    settings.EXPORT_USER_MAX_BYTES = held.stat().st_size + 1  # room left: taken
    assert viewer_api.post("/api/exports/", export_request(device, "timelapse", 2), format="json").status_code == 202


@pytest.mark.django_db
def test_a_zip_whose_images_alone_would_pass_the_users_byte_quota_is_refused_before_any_job(
    viewer_api, viewer_user, device, settings
):
    seeded = seed(device, 3)
    settings.EXPORT_USER_MAX_BYTES = sum(len(bytes(row.image)) for row in seeded) - 1
    response = viewer_api.post("/api/exports/", export_request(device, "zip", 3), format="json")
    assert (response.status_code, response.json()["code"]) == (429, "export_quota_exceeded")
    assert "would add" in response.json()["detail"]
    assert "Retry-After" not in response  # no file of theirs to wait for
    assert not Job.objects.exists()
    # Downscaled, its size is not known before it is built: it may try.
    downscaled = viewer_api.post("/api/exports/", export_request(device, "zip", 3, width=320), format="json")
    assert downscaled.status_code == 202


@pytest.mark.django_db
def test_a_user_at_their_file_quota_gets_a_429_and_exports_under_way_count(viewer_api, viewer_user, device, settings):
    seed(device, 1)
    built(device, viewer_user)
    settings.EXPORT_USER_MAX_FILES = 1
    files, jobs = sorted(settings.EXPORT_DIR.iterdir()), Job.objects.count()
    response = viewer_api.post("/api/exports/", export_request(device, "zip", 1), format="json")
    assert_refused(response, 429, "export_quota_exceeded", "VAS_EXPORT_USER_MAX_FILES")
    assert (sorted(settings.EXPORT_DIR.iterdir()), Job.objects.count()) == (files, jobs)
    settings.EXPORT_USER_MAX_FILES = 2
    assert viewer_api.post("/api/exports/", export_request(device, "zip", 1), format="json").status_code == 202
    # That one, queued, will be a file too: no third.
    response = viewer_api.post("/api/exports/", export_request(device, "zip", 1), format="json")
    assert (response.status_code, response.json()["code"]) == (429, "export_quota_exceeded")


@pytest.mark.django_db
@pytest.mark.parametrize("setting", ["EXPORT_TOTAL_MAX_BYTES", "EXPORT_TOTAL_MAX_FILES"])
def test_the_overall_quota_answers_507_to_everyone(api, viewer_api, viewer_user, device, settings, setting):
    seed(device, 1)
    held = built(device, viewer_user)
    setattr(settings, setting, held.stat().st_size if setting.endswith("BYTES") else 1)
    for client in (viewer_api, api):  # whoever holds the files
        response = client.post("/api/exports/", export_request(device, "zip", 1), format="json")
        assert_refused(response, 507, "export_storage_full", f"VAS_{setting}")
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_one_users_quota_does_not_block_another_user(api, viewer_api, viewer_user, device, settings):
    seed(device, 1)
    held = built(device, viewer_user)
    settings.EXPORT_USER_MAX_BYTES = held.stat().st_size
    settings.EXPORT_USER_MAX_FILES = 1
    assert viewer_api.post("/api/exports/", export_request(device, "zip", 1), format="json").status_code == 429
    assert api.post("/api/exports/", export_request(device, "zip", 1), format="json").status_code == 202


def queued_export(device: Device, user, kind: str, count: int, **params) -> Job:
    job = export_job(device, kind, count, **params)
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED, requested_by=user)
    return job


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "code"),
    [("EXPORT_USER_MAX_BYTES", "export_quota_exceeded"), ("EXPORT_TOTAL_MAX_BYTES", "export_storage_full")],
)
def test_a_zip_build_crossing_a_quota_stops_fails_the_job_with_its_code_and_leaves_no_file(
    device, viewer_user, settings, setting, code
):
    seeded = seed(device, 70)
    frame_bytes = len(bytes(seeded[0].image))
    setattr(settings, setting, 10 * frame_bytes)  # passed long before the last frame
    job = queued_export(device, viewer_user, "zip", 70)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.result) == (Job.State.FAILED, {"code": code})
    assert f"VAS_{setting}" in job.error
    assert job.progress_done < 70  # stopped as it passed, not once whole
    assert list(settings.EXPORT_DIR.iterdir()) == []


@pytest.mark.django_db
def test_a_timelapse_passing_the_quota_only_once_whole_fails_too(device, viewer_user, settings):
    seed(device, 3)
    settings.EXPORT_USER_MAX_BYTES = 1  # nothing written yet passes it, the finished MP4 does
    job = queued_export(device, viewer_user, "timelapse", 3)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.result["code"]) == (Job.State.FAILED, "export_quota_exceeded")
    assert list(settings.EXPORT_DIR.iterdir()) == []


@pytest.mark.django_db
def test_a_job_failed_as_stale_has_its_partial_file_removed_at_once(device, admin_user, export_dir, settings):
    settings.JOB_STALE_S = 30
    dead, alive = export_job(device, "zip", 1), export_job(device, "timelapse", 1)
    Job.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    Job.objects.filter(pk=alive.pk).update(heartbeat_at=timezone.now())
    export_dir.mkdir(parents=True)
    dead_part, alive_part = export_dir / f".{dead.pk}.zip.part", export_dir / f".{alive.pk}.mp4.part"
    for part in (dead_part, alive_part):
        part.write_bytes(b"half")
    assert jobs_fail_stale() == 1
    assert Job.objects.get(pk=dead.pk).error == WORKER_GONE
    assert (dead_part.exists(), alive_part.exists()) == (False, True)  # fresh: far from the TTL


@pytest.mark.django_db
def test_the_prune_removes_the_part_of_a_finished_job_at_once_and_keeps_one_being_written(device, export_dir):
    failed, running = export_job(device, "zip", 1), export_job(device, "zip", 1)
    Job.objects.filter(pk=failed.pk).update(state=Job.State.FAILED)
    export_dir.mkdir(parents=True)
    for job in (failed, running):
        (export_dir / f".{job.pk}.zip.part").write_bytes(b"half")
    assert exports_prune() == 1
    assert [path.name for path in export_dir.iterdir()] == [f".{running.pk}.zip.part"]


@pytest.mark.django_db
def test_a_build_whose_job_was_failed_meanwhile_leaves_no_file(device, export_dir, monkeypatch):
    seed(device, 2)
    job = export_job(device, "zip", 2)

    def failed_as_stale_meanwhile(run: JobRun) -> bool:
        Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED)
        return False

    monkeypatch.setattr(JobRun, "cancelled", failed_as_stale_meanwhile)
    assert export_build(JobRun(job)) == {"frames": 2}
    assert list(export_dir.iterdir()) == []
