"""What DEBUG off switches on, checked on live requests with the production values."""

import pytest

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "DEBUG": False,
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
}


@pytest.fixture
def production(settings):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)


def test_plain_http_is_redirected_to_https(client, production):
    response = client.get("/api/health")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/health"


def test_https_behind_a_proxy_gets_security_headers(client, production):
    response = client.get("/api/health", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
