import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from devices.models import Device
from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/health", "/api/health/"])
def test_health_tells_anonymous_callers_only_what_works(anonymous_api, path):
    response = anonymous_api.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True},
        "ffmpeg": {"ok": True},
        "cache": {"ok": True},
        # Never ran, and no camera needs the keeper.
        "keeper": {"ok": None},
        "scheduler": {"ok": None},
        "worker": {"ok": None},
    }


@pytest.mark.django_db
def test_health_says_whether_the_keeper_scheduler_and_workers_run(anonymous_api, api, viewer_api):
    Device.objects.create(name="live", rtsp_url="rtsp://127.0.0.1:1/live", live=True)
    heartbeat_beat(component="scheduler")
    heartbeat_beat(component="worker", name="old-worker:1")
    Heartbeat.objects.filter(name="old-worker:1").update(beat_at=timezone.now() - timedelta(minutes=5))
    for caller in (anonymous_api, viewer_api):
        body = caller.get("/api/health").json()
        assert (body["keeper"], body["scheduler"], body["worker"]) == ({"ok": False}, {"ok": True}, {"ok": False})
    staff = api.get("/api/health")
    assert staff.status_code == 200  # the API works without them
    assert staff.json()["scheduler"]["running"] == 1
    assert staff.json()["worker"]["running"] == 0
    assert staff.json()["worker"]["last_beat_at"]


@pytest.mark.django_db
def test_health_shows_staff_the_details_and_others_only_what_works(api, viewer_api):
    assert viewer_api.get("/api/health").json()["ffmpeg"] == {"ok": True}
    body = api.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["ffmpeg"]["ok"] is True
    assert body["ffmpeg"]["pyav"]
    assert body["ffmpeg"]["version"]


@pytest.fixture
def database_down(db, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    # Undone when this fixture ends, before the test database's own teardown needs a cursor.
    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken_cursor)
        yield


def test_health_is_503_when_database_is_unreachable(anonymous_api, database_down):
    response = anonymous_api.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == {"ok": False}


def test_health_with_a_token_is_503_not_500_when_the_database_is_down(api, database_down):
    response = api.get("/api/health")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False}


HEALTH_OF_A_FRESH_DATABASE = """
import django
django.setup()
from django.test import Client
response = Client(HTTP_HOST="localhost").get("/api/health")
print(response.status_code, response.json())
"""


def test_health_is_503_on_a_database_that_was_never_migrated(tmp_path):
    # A fresh process on an empty database file, as a deployment that forgot `migrate` starts.
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "vas_project.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", HEALTH_OF_A_FRESH_DATABASE],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.startswith("503 ")
    assert "'database': {'ok': False}" in result.stdout


@pytest.fixture
def cache_down(settings):
    from snapshots.tests.servers import free_port

    working = settings.CACHES
    settings.CACHES = {
        **working,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    yield
    # Back before the autouse fixtures that clear the cache tear down.
    settings.CACHES = working


@pytest.mark.django_db
def test_a_cache_that_is_down_means_no_rate_limits_not_failed_logins(anonymous_api, admin_user, cache_down, caplog):
    body = {"username": "admin", "password": "admin-pass-123"}
    response = anonymous_api.post("/api/auth/login-json", body, format="json")
    assert response.status_code == 200
    assert "rate limit login not applied: its cache failed (ConnectionError)" in caplog.text
    health = anonymous_api.get("/api/health")
    assert health.status_code == 200
    assert health.json()["cache"] == {"ok": False}


def test_an_api_route_is_503_with_a_code_when_the_database_is_down(api, database_down):
    # The token is checked before the database is needed; the device list then needs it.
    response = api.get("/api/devices/")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is unavailable; try again shortly.",
        "code": "database_unavailable",
    }
    assert response["Retry-After"] == "5"


def test_an_admin_page_is_503_not_a_server_error_when_the_database_is_down(admin_user, client):
    client.force_login(admin_user)  # the session is stored before the database goes

    def broken_cursor(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection, "cursor", broken_cursor)
        response = client.get("/admin/devices/device/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.content == b"The database is unavailable; try again shortly.\n"
