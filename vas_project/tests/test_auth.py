import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/auth/login-json", "/api/auth/login-json/"])
def test_login_json_returns_token_pair(anonymous_api, admin_user, path):
    response = anonymous_api.post(path, {"username": "admin", "password": "admin-pass-123"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"] and body["refresh_token"]


def test_login_json_token_opens_the_api(anonymous_api, admin_user):
    tokens = anonymous_api.post(
        "/api/auth/login-json", {"username": "admin", "password": "admin-pass-123"}, format="json"
    ).json()
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert anonymous_api.get("/api/devices/").status_code == 200


def test_login_json_wrong_password_is_401_json(anonymous_api, admin_user):
    response = anonymous_api.post("/api/auth/login-json", {"username": "admin", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Wrong username or password.", "code": "invalid_credentials"}


def test_login_json_unknown_user_is_401(anonymous_api, db):
    response = anonymous_api.post("/api/auth/login-json", {"username": "ghost", "password": "x"}, format="json")
    assert response.status_code == 401
    # The same answer as a wrong password: it does not tell which usernames exist.
    assert response.json() == {"detail": "Wrong username or password.", "code": "invalid_credentials"}


def test_login_json_missing_fields_is_400_naming_them(anonymous_api, db):
    response = anonymous_api.post("/api/auth/login-json", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_standard_token_and_refresh_routes(anonymous_api, admin_user):
    pair = anonymous_api.post("/api/auth/token/", {"username": "admin", "password": "admin-pass-123"}, format="json")
    assert pair.status_code == 200
    refreshed = anonymous_api.post("/api/auth/token/refresh/", {"refresh": pair.json()["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert refreshed.json()["access"]


def test_refresh_with_garbage_is_401(anonymous_api, db):
    response = anonymous_api.post("/api/auth/token/refresh", {"refresh": "garbage"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.parametrize("path", ["/api/devices/", "/api/devices", "/api/devices/00000000-0000-0000-0000-000000000000"])
def test_api_without_token_is_401_json(anonymous_api, db, path):
    response = anonymous_api.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_api_with_bad_token_is_401_json(anonymous_api, db):
    anonymous_api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = anonymous_api.get("/api/devices/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_admin_session_login_works(client, admin_user):
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "admin-pass-123"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_admin_session_opens_the_api(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/api/devices/").status_code == 200


def test_unknown_api_route_is_404_json(anonymous_api, db):
    response = anonymous_api.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def pair(client, username: str, password: str) -> dict:
    response = client.post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200
    return response.json()


def refresh(client, token: str):
    return client.post("/api/auth/token/refresh/", {"refresh": token}, format="json")


def can_list_devices(access: str) -> bool:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/devices/").status_code == 200


@pytest.mark.django_db
def test_a_refresh_token_works_once(anonymous_api, admin_user):
    tokens = pair(anonymous_api, "admin", "admin-pass-123")
    first = refresh(anonymous_api, tokens["refresh"])
    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]  # rotated
    reused = refresh(anonymous_api, tokens["refresh"])
    assert (reused.status_code, reused.json()["code"]) == (401, "token_not_valid")
    assert refresh(anonymous_api, first.json()["refresh"]).status_code == 200


@pytest.mark.django_db
def test_a_password_change_revokes_every_token(anonymous_api, admin_user):
    tokens = pair(anonymous_api, "admin", "admin-pass-123")
    assert can_list_devices(tokens["access"])
    admin_user.set_password("a-new-password-456")
    admin_user.save()
    assert not can_list_devices(tokens["access"])
    revoked = refresh(anonymous_api, tokens["refresh"])
    assert (revoked.status_code, revoked.json()["code"]) == (401, "token_revoked")
    assert can_list_devices(pair(anonymous_api, "admin", "a-new-password-456")["access"])


@pytest.mark.django_db
def test_a_deactivated_user_is_locked_out_at_once(anonymous_api, admin_user):
    tokens = pair(anonymous_api, "admin", "admin-pass-123")
    admin_user.is_active = False
    admin_user.save()
    assert not can_list_devices(tokens["access"])
    assert refresh(anonymous_api, tokens["refresh"]).status_code == 401
