"""Every answer under /api/ is the API's JSON error body or a JSON answer, with DEBUG on as
`make demo` runs it: never Django's debug pages (the URL patterns, a traceback), never a bare
"401 Unauthorized"; and /api/ itself is an index of the public entry points."""

import json
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import include, path, re_path, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

pytestmark = pytest.mark.django_db

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}


class Broken(APIView):
    """A view with a bug, for the test-only URLconf below."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("a secret from deep inside the view")


def forbidden(request):
    """A plain Django view under /api/ that refuses, outside DRF."""
    raise PermissionDenied


# The test-only URLconf (@pytest.mark.urls(__name__)): the product's routes and two that fail.
urlpatterns = [
    re_path(r"^api/broken/?$", Broken.as_view()),
    re_path(r"^api/forbidden/?$", forbidden),
    path("", include("vas_project.urls")),
]
handler400 = "vas_project.views.bad_request"
handler403 = "vas_project.views.permission_denied"
handler404 = "vas_project.views.not_found"
handler500 = "vas_project.views.server_error"


@pytest.fixture(autouse=True)
def demo_debug(settings):
    # As `make demo` runs: DJANGO_DEBUG unset is DEBUG on. Django picks its debug pages from
    # settings.DEBUG at request time.
    settings.DEBUG = True


@pytest.fixture
def csrf_checked_api(admin_user) -> APIClient:
    """A logged-in API client whose requests pass Django's CSRF checks as a real client's do."""
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(admin_user).access_token}")
    return client


def assert_json(response, status: int, body: dict) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == body


def test_an_unknown_api_path_is_a_json_404(anonymous_api):
    assert_json(anonymous_api.get("/api/nope"), 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("post", "/api/snapshots/capture/42"),
        ("get", "/api/snapshots/42"),
        ("get", "/api/devices/42"),
        ("delete", "/api/devices/42/"),
    ],
)
def test_an_id_that_is_not_a_uuid_is_a_json_404(csrf_checked_api, method, route):
    # Not a 403 for the POST either: a path that is no route is exempt from CSRF like every API route.
    assert_json(getattr(csrf_checked_api, method)(route), 404, NOT_FOUND)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_any_method_on_an_unknown_api_path_is_a_json_404(anonymous_api, method):
    assert_json(getattr(anonymous_api, method)("/api/nope"), 404, NOT_FOUND)


def test_head_on_an_unknown_api_path_is_a_json_404(anonymous_api):
    response = anonymous_api.head("/api/nope")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")


@pytest.mark.parametrize("route", ["/api/", "/api"])
def test_the_api_index_links_its_public_entry_points_without_a_login(anonymous_api, route):
    response = anonymous_api.get(route)
    assert_json(
        response,
        200,
        {
            "docs": "http://testserver/api/docs",
            "schema": "http://testserver/api/schema",
            "health": "http://testserver/api/health",
            "login": "http://testserver/api/auth/login-json",
            "token": "http://testserver/api/auth/token",
        },
    )


def test_every_link_of_the_api_index_resolves_to_its_route(anonymous_api):
    links = anonymous_api.get("/api/").json()
    assert {name: resolve(urlsplit(link).path).url_name for name, link in links.items()} == {
        "docs": "docs",
        "schema": "schema",
        "health": "health",
        "login": "login-json",
        "token": "token-obtain",
    }


def test_the_schema_describes_the_api_index_as_public():
    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/"]["get"]
    assert operation["security"] == [{}]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiIndex"
    }


@pytest.mark.parametrize("route", ["/api/docs/", "/api/schema/"])
def test_a_browser_without_a_login_is_sent_to_the_login_page(client, route):
    response = client.get(route, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={route}"


def test_logging_in_from_the_docs_page_comes_back_to_it(client, admin_user):
    login_page = client.get("/api/docs/", HTTP_ACCEPT=BROWSER_ACCEPT)["Location"]
    assert client.get(login_page).status_code == 200
    back = client.post(login_page, {"username": "admin", "password": "admin-pass-123"})
    assert (back.status_code, back["Location"]) == (302, "/api/docs/")
    docs = client.get(back["Location"], HTTP_ACCEPT=BROWSER_ACCEPT)
    assert docs.status_code == 200
    assert docs["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in docs.content


@pytest.mark.parametrize("accept", [None, "application/json"])
def test_the_docs_page_answers_an_api_client_without_a_login_a_json_401(anonymous_api, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    assert_json(anonymous_api.get("/api/docs/", **headers), 401, NOT_AUTHENTICATED)


@pytest.mark.parametrize("accept", [None, "application/vnd.oai.openapi"])
def test_the_schema_answers_an_api_client_without_a_login_a_json_401(anonymous_api, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    assert_json(anonymous_api.get("/api/schema/", **headers), 401, NOT_AUTHENTICATED)


def test_the_docs_page_refuses_a_logged_in_user_without_api_permissions_in_json(client):
    client.force_login(User.objects.create_user("nobody", password="nobody-pass-123"))
    assert_json(
        client.get("/api/docs/", HTTP_ACCEPT=BROWSER_ACCEPT),
        403,
        {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
    )


def test_too_many_query_parameters_are_a_json_400(anonymous_api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    query = "&".join(f"p{number}=1" for number in range(11))
    assert_json(anonymous_api.get(f"/api/health?{query}"), 400, {"detail": "Bad request.", "code": "bad_request"})


@pytest.mark.urls(__name__)
def test_an_error_in_an_api_view_is_a_json_500_without_a_traceback():
    response = Client(raise_request_exception=False).get("/api/broken")
    assert_json(response, 500, {"detail": "Internal server error.", "code": "server_error"})
    assert b"Traceback" not in response.content and b"secret" not in response.content


@pytest.mark.urls(__name__)
def test_a_refusal_outside_drf_under_api_is_a_json_403():
    assert_json(
        Client().get("/api/forbidden"),
        403,
        {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
    )


@pytest.mark.urls(__name__)
def test_an_error_in_an_api_view_is_still_reported_as_django_reports_it(caplog):
    # The JSON 500 hides nothing from the people running it: the test client (listening to
    # got_request_exception) re-raises the error, and django.request logs it with its traceback.
    with pytest.raises(RuntimeError, match="a secret from deep inside the view"):
        Client().get("/api/broken")
    (record,) = [record for record in caplog.records if record.name == "django.request"]
    assert (record.levelname, record.getMessage()) == ("ERROR", "Internal Server Error: /api/broken")
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_a_request_for_another_host_is_a_json_400_with_debug_on(client, settings):
    settings.DEBUG = True
    response = client.get("/api/health", HTTP_HOST="not-this-server.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}
