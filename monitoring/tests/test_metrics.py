"""/metrics after real captures: counters and histograms move by what happened, gauges read
the database and the live store, labels carry no secret, and only allowed scrapers get it."""

import socket
import threading
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from capture import live
from devices.models import Device
from jobs.models import Job
from monitoring.services import heartbeat_beat
from snapshots.models import Snapshot
from snapshots.retention import snapshot_prune
from snapshots.tests.factories import make_snapshot
from snapshots.tests.servers import CAMERA_PASSWORD, CAMERA_USER, start_web, stop_process
from vas_project import metrics


def scrape(client, **headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_captures_move_the_counters_the_histogram_and_the_storage_gauges(api, client, camera, refused_url):
    device = Device.objects.create(
        name="Gate 1", rtsp_url=camera.url("auth"), username=CAMERA_USER, password=CAMERA_PASSWORD
    )
    broken = Device.objects.create(name="broken", rtsp_url=refused_url)
    camera_labels = {"device_id": str(device.pk), "device": "Gate 1"}
    before = scrape(client)
    for _ in range(2):
        assert api.post(f"/api/snapshots/capture/{device.pk}").status_code == 201
    failed = api.post(f"/api/snapshots/capture/{broken.pk}")
    assert failed.status_code == 502
    code = failed.json()["code"]
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("vas_captures_total", **camera_labels, source="oneshot", code="ok") == 2
    assert moved("vas_capture_duration_seconds_count", **camera_labels) == 2
    assert moved("vas_capture_duration_seconds_bucket", **camera_labels, le="+Inf") == 2
    assert 0 < moved("vas_capture_duration_seconds_sum", **camera_labels) < 20
    broken_labels = {"device_id": str(broken.pk), "device": "broken"}
    assert moved("vas_captures_total", **broken_labels, source="none", code=code) == 1
    assert moved("vas_captures_total", **broken_labels, source="none", code="ok") == 0
    stored = Snapshot.objects.filter(device=device)
    assert value(after, "vas_stored_snapshots", **camera_labels) == 2
    assert value(after, "vas_stored_bytes", **camera_labels) == sum(row.file_size for row in stored)
    newest = stored.latest("captured_at").captured_at.timestamp()
    assert value(after, "vas_last_snapshot_timestamp_seconds", **camera_labels) == pytest.approx(newest)
    assert value(after, "vas_device_online", **camera_labels) == 1
    assert value(after, "vas_device_online", **broken_labels) == 0
    assert value(after, "vas_device_enabled", **broken_labels) == 1
    # The request itself, by route name.
    route = {"route": "snapshot-capture", "method": "POST"}
    assert moved("vas_http_request_duration_seconds_count", **route, status="201") == 2
    assert moved("vas_http_request_duration_seconds_count", **route, status="502") == 1
    body = client.get("/metrics").content.decode()
    assert CAMERA_PASSWORD not in body and CAMERA_USER not in body and "rtsp://" not in body


@pytest.mark.django_db
def test_prunes_jobs_and_heartbeats_are_in_the_metrics(client, device):
    make_snapshot(device)
    old = make_snapshot(device)
    Snapshot.objects.filter(pk=old.pk).update(captured_at=old.captured_at.replace(year=2020))
    device.retention_days = 30
    device.save()
    before = scrape(client)
    snapshot_prune()
    after = scrape(client)
    assert value(after, "vas_prune_runs_total") - value(before, "vas_prune_runs_total") == 1
    assert value(after, "vas_prune_deleted_snapshots_total") - value(before, "vas_prune_deleted_snapshots_total") == 1
    Job.objects.create(kind=Job.Kind.CAPTURE_BATCH, params={}, progress_total=1)
    samples = scrape(client)
    assert value(samples, "vas_jobs", state="queued") == 1
    assert value(samples, "vas_jobs", state="failed") == 0
    assert ("vas_heartbeat_timestamp_seconds", (("component", "scheduler"),)) not in samples


@pytest.mark.django_db
def test_only_allowed_addresses_or_the_token_may_scrape(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 is no longer listed
    settings.METRICS_TOKEN = "scrape-token-123"  # noqa: S105 - a test's
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    # Behind a proxy on this machine, the client is who the proxy says, not the proxy.
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200
    settings.METRICS_ENABLED = False
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123").status_code == 404


def test_the_counts_of_every_gunicorn_worker_are_added_up(transactional_db, tmp_path):
    """Multiprocess mode: whichever worker answers the scrape, it counts the other's requests too."""
    counts = tmp_path / "metrics"
    counts.mkdir()
    web = start_web(tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(counts))
    try:

        def health_count() -> float:
            with urllib.request.urlopen(web.base + "/metrics", timeout=10) as answer:  # noqa: S310 - 127.0.0.1
                samples = parse(answer.read().decode())
            return value(samples, "vas_http_request_duration_seconds_count", route="health", method="GET", status="200")

        before = health_count()
        sent = 0
        # Concurrent requests until both workers have answered some (each counts into its own file).
        for _ in range(20):
            threads = [
                threading.Thread(target=lambda: [web.call("GET", "/api/health") for _ in range(5)]) for _ in range(6)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sent += 30
            if len({path.name for path in counts.glob("histogram_*.db")}) == 2:
                break
        files = [path.name for path in counts.glob("histogram_*.db")]
        assert len(files) == 2, "both workers should have answered"
        # Named by host and pid: containers sharing the directory never share a file.
        assert all(socket.gethostname().replace("_", "-") in name for name in files)
        assert health_count() - before == sent
    finally:
        stop_process(web.process)


@pytest.mark.django_db
def test_every_metric_the_dashboard_and_the_alerts_use_is_served(client, api, camera, settings):
    """The names docs/monitoring is checked against (vas_project/tests/test_monitoring_rules.py)
    are the names /metrics serves: renaming one in the code breaks this test."""
    from vas_project.tests.test_monitoring_rules import METRICS

    settings.CAMERAS_VISIBLE_TO_ALL = True
    device = Device.objects.create(name="Served", rtsp_url=camera.url("fast"), live=False)
    assert api.post(f"/api/snapshots/capture/{device.pk}").status_code == 201
    Device.objects.create(name="Live", rtsp_url=camera.url("fast"), live=True)
    live.live_sessions_refresh(
        sessions={device.pk: live.LiveSession(keeper="k", keyframe_interval_s=2, since=0, last_keyframe_at=1)}
    )
    Device.objects.filter(pk=device.pk).update(live=True)
    heartbeat_beat(component="keeper")
    snapshot_prune()
    metrics.WEBHOOK_DELIVERIES.labels(result="delivered").inc(0)
    metrics.KEEPER_RECONNECTS.labels(device_id=str(device.pk), device=device.name).inc(0)
    samples = {name for name, _ in scrape(client)}
    served = samples | {name.removesuffix("_count") for name in samples}
    assert METRICS <= served, METRICS - served
