"""Bad input of every class answers a JSON 4xx with a code, never a 500."""

import pytest

from snapshots.tests.factories import make_snapshot

NOT_ASCII_NUMBERS = ["²", "①", "٣", "1_0", " 3", "3 ", "+3", "0x10", "1e3", "nan", "inf", "-1"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS)
def test_per_page_takes_only_ascii_digits(api, value):
    response = api.get("/api/snapshots/", {"per_page": value})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS)
def test_width_takes_only_ascii_digits(api, device, value):
    snapshot = make_snapshot(device)
    response = api.get(f"/api/snapshots/{snapshot.pk}/image.jpg", {"width": value})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_width"


@pytest.mark.django_db
@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS)
def test_max_age_takes_only_ascii_numbers(api, device, value):
    response = api.post(f"/api/snapshots/capture/{device.pk}?max_age={value}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_max_age"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01",
        "99999-01-01T00:00:00Z",
        # Offsets PostgreSQL refuses (its limit is 15:59) but Python parses.
        "1750-01-30T18:01:34+20:53",
        "2026-01-01T00:00:00-23:59",
    ],
)
@pytest.mark.parametrize("name", ["captured_after", "captured_before"])
def test_extreme_datetimes_in_filters_are_a_400(api, name, value):
    response = api.get("/api/snapshots/", {name: value})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.json()["code"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route", ["/api/auth/login-json", "/api/auth/token/", "/api/devices/", "/api/snapshots/capture/"]
)
def test_deeply_nested_json_is_a_400(api, route):
    body = "[" * 5000 + "]" * 5000
    response = api.post(route, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"]


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJ1c2VyX2lkIjoxfQ."])
def test_an_invalid_token_is_a_sentence_not_a_python_repr(anonymous_api, token):
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = anonymous_api.get("/api/devices/").json()
    assert body == {"detail": "Given token not valid for any token type", "code": "token_not_valid"}
    anonymous_api.credentials()
    refreshed = anonymous_api.post("/api/auth/token/refresh/", {"refresh": token}, format="json").json()
    assert refreshed == {"detail": "Token is invalid", "code": "token_not_valid"}


@pytest.mark.django_db
def test_a_malformed_authorization_header_is_a_sentence(anonymous_api):
    anonymous_api.credentials(HTTP_AUTHORIZATION="Bearer ")
    body = anonymous_api.get("/api/devices/").json()
    assert body == {
        "detail": "Authorization header must contain two space-delimited values",
        "code": "bad_authorization_header",
    }


@pytest.mark.django_db
def test_the_refresh_token_of_a_deleted_user_is_a_401(anonymous_api, django_user_model):
    from rest_framework_simplejwt.tokens import RefreshToken

    user = django_user_model.objects.create_user("gone", password="gone-pass-123")
    refresh = str(RefreshToken.for_user(user))
    user.delete()
    response = anonymous_api.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 401
    assert response.json()["code"]
