"""Exports: a seeded range as a zip and as a timelapse, downloaded through the signed link,
bounded, cancelled, and removed by the prune once expired."""

import io
import json
import os
import subprocess
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image

from devices.models import Device
from exports.services import export_build, exports_prune
from jobs.models import Job
from jobs.services import JobFailed, JobRun
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
