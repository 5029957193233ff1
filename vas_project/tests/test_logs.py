"""Structured logs: a request id on every answer and in every line of the request, the jobs and the
webhook deliveries it started; captures' lines name their camera, snapshot, code and duration;
JSON lines (VAS_LOG_FORMAT=json) that hold nothing but their named fields."""

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from rest_framework.throttling import SimpleRateThrottle

from devices.models import Device
from jobs.models import Job
from jobs.tests.test_jobs import wait_for_job
from snapshots.models import Snapshot
from snapshots.tests.servers import CAMERA_PASSWORD, CAMERA_USER, wait_for
from vas_project.logs import JsonFormatter, LogContextFilter, PlainFormatter, log_context
from vas_project.tests.test_settings import python
from webhooks.models import Delivery, Webhook
from webhooks.services import webhook_event
from webhooks.tests.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@contextmanager
def logs_in(log_format: str) -> Iterator[io.StringIO]:
    """What the console shows with VAS_LOG_FORMAT=log_format: its formatter and filter, into a string."""
    formatters = {"plain": PlainFormatter(settings.LOGGING["formatters"]["plain"]["format"]), "json": JsonFormatter()}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatters[log_format])
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def the_line(lines: list[dict], starting: str) -> dict:
    [line] = [line for line in lines if line["message"].startswith(starting)]
    return line


# The request id -------------------------------------------------------------------------------


def test_every_request_gets_a_new_id_in_its_answer(anonymous_api):
    ids = [anonymous_api.get("/api/health")["X-Request-ID"] for _ in range(2)]
    assert all(GENERATED_ID.fullmatch(request_id) for request_id in ids)
    assert ids[0] != ids[1]


def test_a_callers_own_request_id_is_answered_back(anonymous_api):
    response = anonymous_api.get("/api/health", HTTP_X_REQUEST_ID="client-42.retry_1")
    assert response["X-Request-ID"] == "client-42.retry_1"


@pytest.mark.parametrize("hostile", ["a" * 200, "abc\ninjected line", "two words", "", "ünïcode"])
def test_a_request_id_that_is_not_a_plain_token_is_replaced(anonymous_api, hostile):
    response = anonymous_api.get("/api/health", HTTP_X_REQUEST_ID=hostile)
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/no-such-route", 404), ("/api/devices/", 401), ("/api/auth/login-json", 405), ("/admin/", 302)],
)
def test_errors_and_redirects_carry_the_request_id_too(anonymous_api, path, status):
    response = anonymous_api.get(path, HTTP_X_REQUEST_ID="on-every-answer")
    assert (response.status_code, response["X-Request-ID"]) == (status, "on-every-answer")


def test_a_throttled_answer_carries_the_request_id(anonymous_api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "1/min")
    body = {"username": "someone", "password": "wrong"}
    anonymous_api.post("/api/auth/login-json", body, format="json")
    response = anonymous_api.post("/api/auth/login-json", body, format="json", HTTP_X_REQUEST_ID="throttled-1")
    assert (response.status_code, response["X-Request-ID"]) == (429, "throttled-1")


def test_a_database_outage_answer_carries_the_request_id(admin_user, client, monkeypatch):
    client.force_login(admin_user)

    def broken_cursor(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken_cursor)
        response = client.get("/admin/devices/device/", HTTP_X_REQUEST_ID="outage-1")
    assert (response.status_code, response["X-Request-ID"]) == (503, "outage-1")


def test_the_lines_of_a_request_carry_its_id(anonymous_api):
    with logs_in("json") as logged:
        anonymous_api.get("/api/no-such-route", HTTP_X_REQUEST_ID="find-me-1")
    line = the_line(json_lines(logged), "Not Found: /api/no-such-route")
    assert (line["level"], line["logger"], line["request_id"]) == ("WARNING", "django.request", "find-me-1")


def test_plain_lines_end_with_the_request_id(anonymous_api):
    with logs_in("plain") as logged:
        anonymous_api.get("/api/no-such-route", HTTP_X_REQUEST_ID="find-me-2")
    assert re.search(r"WARNING django\.request Not Found: /api/no-such-route \[find-me-2\]$", logged.getvalue(), re.M)


# Captures ---------------------------------------------------------------------------------------


def test_a_captures_json_line_names_request_user_camera_snapshot_and_duration(api, admin_user, camera):
    device = Device.objects.create(name="Gate", rtsp_url=camera.url("cam1"), live=False)
    with logs_in("json") as logged:
        response = api.post(f"/api/snapshots/capture/{device.pk}", HTTP_X_REQUEST_ID="capture-1")
    assert response.status_code == 201
    line = the_line(json_lines(logged), "captured ")
    assert line["level"] == "INFO" and line["logger"] == "snapshots.services"
    assert (line["request_id"], line["user_id"]) == ("capture-1", str(admin_user.pk))
    assert (line["device_id"], line["snapshot_id"]) == (str(device.pk), response.json()["id"])
    assert isinstance(line["duration_ms"], int) and line["duration_ms"] > 0
    assert "code" not in line and "job_id" not in line


def test_a_failed_captures_json_line_names_its_camera_and_code(api, refused_url):
    device = Device.objects.create(name="Dead", rtsp_url=refused_url, live=False)
    with logs_in("json") as logged:
        response = api.post(f"/api/snapshots/capture/{device.pk}?force=true", HTTP_X_REQUEST_ID="capture-2")
    assert response.status_code == 502
    line = the_line(json_lines(logged), f"capture from device {device.pk} failed")
    assert line["level"] == "WARNING"
    assert (line["request_id"], line["device_id"], line["code"]) == (
        "capture-2",
        str(device.pk),
        response.json()["code"],
    )
    assert isinstance(line["duration_ms"], int)
    assert "snapshot_id" not in line


# Jobs and webhook deliveries ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_job_keeps_the_request_id_that_started_it_in_its_row_and_lines(api, admin_user, camera, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    Device.objects.create(name="Yard", rtsp_url=camera.url("cam2"), live=False)
    with logs_in("json") as logged:
        response = api.post(
            "/api/snapshots/capture/", {"all": True, "async": True}, format="json", HTTP_X_REQUEST_ID="batch-1"
        )
        assert response.status_code == 202
        assert response.json()["request_id"] == "batch-1"
        assert wait_for_job(api, response["Location"])["state"] == "succeeded"
        job = Job.objects.get()
        wait_for(lambda: f"job {job.pk} finished" in logged.getvalue(), timeout_s=10, what="the job's last line")
    assert job.request_id == "batch-1"
    lines = [line for line in json_lines(logged) if line.get("job_id") == str(job.pk)]
    # The capture ran on the batch's thread pool, and still logs under the job and its request.
    snapshot = Snapshot.objects.get()
    assert [line["message"] for line in lines] == [
        f"job {job.pk} (capture_batch) started",
        f"captured {snapshot.pk} from device {snapshot.device_id} ({snapshot.file_size} bytes)",
        f"job {job.pk} finished: succeeded",
    ]
    assert all((line["request_id"], line["user_id"]) == ("batch-1", str(admin_user.pk)) for line in lines)


@pytest.mark.django_db(transaction=True)
def test_a_webhook_delivery_sends_and_logs_the_request_id_of_its_event(api, refused_url):
    receiver = Receiver()
    try:
        Webhook.objects.create(url=receiver.url, events=["capture.failed"], secret="a-receivers-secret-0123456789")
        device = Device.objects.create(name="Dead", rtsp_url=refused_url, live=False)
        with logs_in("json") as logged:
            api.post(f"/api/snapshots/capture/{device.pk}?force=true", HTTP_X_REQUEST_ID="hook-1")
            wait_for(lambda: len(receiver.requests) == 1, timeout_s=15, what="the delivery")
            wait_for(lambda: Delivery.objects.get().state == "succeeded", timeout_s=10, what="its outcome")
    finally:
        receiver.close()
    assert receiver.requests[0]["headers"]["X-Request-ID"] == "hook-1"
    delivery = Delivery.objects.get()
    assert delivery.request_id == "hook-1"
    line = the_line(json_lines(logged), f"webhook delivery {delivery.pk} (capture.failed) delivered")
    assert line["request_id"] == "hook-1"


@pytest.mark.django_db(transaction=True)
def test_a_delivery_made_outside_any_request_sends_no_request_id():
    receiver = Receiver()
    try:
        Webhook.objects.create(url=receiver.url, events=["capture.failed"], secret="a-receivers-secret-0123456789")
        webhook_event(event="capture.failed", data=lambda: {"code": "timeout"})
        wait_for(lambda: len(receiver.requests) == 1, timeout_s=15, what="the delivery")
    finally:
        receiver.close()
    assert "X-Request-ID" not in receiver.requests[0]["headers"]


# The JSON format ------------------------------------------------------------------------------


def test_nested_contexts_merge_and_an_explicit_field_wins():
    logger = logging.getLogger("vas.test")
    with logs_in("json") as logged, log_context(request_id="outer", job_id="j1"):
        with log_context(device_id="d1"):
            logger.warning("inner", extra={"job_id": "explicit"})
        logger.warning("outer")
    inner, outer = json_lines(logged)
    assert {key: inner[key] for key in ("request_id", "job_id", "device_id")} == {
        "request_id": "outer",
        "job_id": "explicit",
        "device_id": "d1",
    }
    assert "device_id" not in outer and outer["job_id"] == "j1"


def test_a_json_line_holds_only_its_named_fields_never_arguments_extras_or_exception_text():
    device = Device(
        name="Canary", rtsp_url=f"rtsp://{CAMERA_USER}:{CAMERA_PASSWORD}@127.0.0.1/x", password=CAMERA_PASSWORD
    )
    logger = logging.getLogger("vas.test")
    with logs_in("json") as logged:
        try:
            raise ConnectionError(f"cannot reach {device.rtsp_url}")
        except ConnectionError:
            logger.exception(
                "reaching %s failed",
                device.name,
                extra={"device": device, "url": device.rtsp_url, "device_id": device.pk},
            )
    text = logged.getvalue()
    assert CAMERA_PASSWORD not in text
    [line] = json_lines(logged)
    assert set(line) == {"time", "level", "logger", "message", "device_id", "exc_type"}
    assert (line["message"], line["exc_type"], line["device_id"]) == (
        "reaching Canary failed",
        "ConnectionError",
        str(device.pk),
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def test_a_message_with_newlines_stays_one_json_line():
    with logs_in("json") as logged:
        logging.getLogger("vas.test").warning("one\ntwo")
    assert logged.getvalue().count("\n") == 1
    assert json_lines(logged)[0]["message"] == "one\ntwo"


def test_vas_log_format_json_makes_the_console_write_json_lines():
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "print(Client(HTTP_HOST='localhost').get('/api/no-such-route', HTTP_X_REQUEST_ID='fresh-1')['X-Request-ID'])\n"
    )
    result = python("-c", script, VAS_LOG_FORMAT="json", DJANGO_SETTINGS_MODULE="vas_project.settings")
    assert result.stdout.strip() == "fresh-1", result.stderr
    [line] = [json.loads(line) for line in result.stderr.splitlines()]  # Django's own handlers print nothing else
    assert (line["message"], line["request_id"]) == ("Not Found: /api/no-such-route", "fresh-1")


@pytest.mark.django_db
def test_a_request_for_another_host_is_one_warning_line_without_a_traceback(client, caplog):
    response = client.get("/api/health", HTTP_HOST="not-this-server.example")
    assert response.status_code == 400
    [record] = [record for record in caplog.records if record.name == "django.security.DisallowedHost"]
    assert record.levelname == "WARNING"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
