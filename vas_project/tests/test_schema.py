import pytest
import yaml
from django.contrib.auth.models import User
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

DOCUMENTED_PATHS = [
    "/api/health",
    "/api/auth/login-json",
    "/api/devices",
    "/api/devices/{id}",
    "/api/snapshots",
    "/api/snapshots/{id}",
    "/api/snapshots/{id}/image",
    "/api/snapshots/{id}/image.jpg",
    "/api/snapshots/{id}/thumbnail.jpg",
    "/api/snapshots/capture/{device_id}",
    "/api/snapshots/device/{device_id}",
    "/api/snapshots/device/{device_id}/latest",
    "/api/snapshots/device/{device_id}/latest.jpg",
]


def test_schema_describes_every_route(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = {path.rstrip("/") for path in schema["paths"]}
    assert set(DOCUMENTED_PATHS) <= paths


def test_schema_documents_error_answers(api):
    schema = yaml.safe_load(api.get("/api/schema/").content)
    capture = next(v for k, v in schema["paths"].items() if k.startswith("/api/snapshots/capture/{device_id}"))
    assert {"201", "404", "409", "502", "504"} <= set(capture["post"]["responses"])
    list_params = {p["name"] for p in schema["paths"]["/api/snapshots/"]["get"]["parameters"]}
    assert {"page", "per_page", "device_id", "captured_after", "captured_before", "trigger", "ordering"} <= list_params


def test_schema_names_each_snapshot_link(api):
    schema = yaml.safe_load(api.get("/api/schema/").content)
    for name in ("Snapshot", "SnapshotImageData"):
        urls = schema["components"]["schemas"][name]["properties"]["urls"]
        assert set(urls["properties"]) == {
            "self",
            "image",
            "image_data",
            "thumbnail",
            "signed_image",
            "signed_thumbnail",
        }
        assert {link["format"] for link in urls["properties"].values()} == {"uri"}


def test_docs_page_is_served(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_docs_page_loads_its_assets_from_this_server(client, admin_user):
    client.force_login(admin_user)
    html = client.get("/api/docs/").content.decode()
    assert "cdn." not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_schema_and_docs_need_a_login(anonymous_api):
    assert anonymous_api.get("/api/schema/").status_code == 401
    assert anonymous_api.get("/api/docs/").status_code == 401


def test_capture_documents_every_status_of_the_capture_failure_table(api):
    from capture.errors import CAPTURE_FAILURES

    schema = yaml.safe_load(api.get("/api/schema/").content)
    capture = next(v for k, v in schema["paths"].items() if k.startswith("/api/snapshots/capture/{device_id}"))
    assert {str(failure.http_status) for failure in CAPTURE_FAILURES.values()} <= set(capture["post"]["responses"])


def test_schema_and_docs_are_only_for_users_with_some_api_permission(db, viewer_api):
    nobody = APIClient()
    nobody.force_authenticate(User.objects.create_user("nobody", password="nobody-pass-123"))
    assert nobody.get("/api/schema/").status_code == 403
    assert nobody.get("/api/docs/").status_code == 403
    assert viewer_api.get("/api/schema/").status_code == 200
