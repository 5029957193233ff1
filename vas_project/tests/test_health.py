import pytest
from django.db import OperationalError, connection


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/health", "/api/health/"])
def test_health_reports_database_and_ffmpeg(anonymous_api, path):
    response = anonymous_api.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["ffmpeg"]["ok"] is True
    assert body["ffmpeg"]["path"]
    assert body["ffmpeg"]["version"]


@pytest.mark.django_db
def test_health_is_503_when_database_is_unreachable(anonymous_api, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = anonymous_api.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == {"ok": False, "error": "database unreachable"}
