import pytest
from rest_framework.throttling import SimpleRateThrottle

from devices.models import Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(monkeypatch):
    def set_rate(scope: str, rate: str) -> None:
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return set_rate


def login(client, username: str, password: str = "wrong", address: str = "127.0.0.1"):
    body = {"username": username, "password": password}
    return client.post("/api/auth/login-json", body, format="json", REMOTE_ADDR=address)


def test_login_attempts_per_client_get_429_with_retry_after(anonymous_api, admin_user, rates):
    rates("login", "3/min")
    assert [login(anonymous_api, f"user{i}").status_code for i in range(3)] == [401, 401, 401]
    response = login(anonymous_api, "admin", "admin-pass-123")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_login_attempts_per_username_from_many_addresses(anonymous_api, admin_user, rates):
    rates("login_username", "2/min")
    assert login(anonymous_api, "admin", address="127.0.0.2").status_code == 401
    assert login(anonymous_api, "Admin", address="127.0.0.3").status_code == 401
    assert login(anonymous_api, "admin", address="127.0.0.4").status_code == 429
    assert login(anonymous_api, "someone-else", address="127.0.0.4").status_code == 401


def test_token_route_is_throttled_too(anonymous_api, admin_user, rates):
    rates("login", "1/min")
    body = {"username": "admin", "password": "wrong"}
    assert anonymous_api.post("/api/auth/token/", body, format="json").status_code == 401
    assert anonymous_api.post("/api/auth/token/", body, format="json").status_code == 429


def test_captures_per_user_get_429(api, rates, refused_url):
    rates("capture", "2/min")
    device = Device.objects.create(name="dead", rtsp_url=refused_url)
    codes = [api.post(f"/api/snapshots/capture/{device.pk}?force=true").status_code for _ in range(3)]
    assert codes == [502, 502, 429]
    assert api.post("/api/snapshots/capture/", {"all": True}, format="json").status_code == 429


def test_a_forged_x_forwarded_for_does_not_dodge_the_throttle(anonymous_api, admin_user, rates):
    rates("login", "2/min")
    answers = [
        anonymous_api.post(
            "/api/auth/login-json",
            {"username": f"user{i}", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        ).status_code
        for i in range(3)
    ]
    assert answers == [401, 401, 429]


def test_behind_trusted_proxies_the_client_is_the_address_they_forward(anonymous_api, admin_user, rates, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    rates("login", "1/min")
    body = {"username": "someone", "password": "wrong"}
    # Two clients behind one proxy: each has its own allowance; the proxy's own address is not the client.
    first = anonymous_api.post("/api/auth/login-json", body, format="json", HTTP_X_FORWARDED_FOR="198.51.100.1")
    second = anonymous_api.post("/api/auth/login-json", body, format="json", HTTP_X_FORWARDED_FOR="198.51.100.2")
    again = anonymous_api.post("/api/auth/login-json", body, format="json", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert [first.status_code, second.status_code, again.status_code] == [401, 401, 429]


@pytest.mark.parametrize("page", ["/login/", "/admin/login/"])
def test_a_login_page_takes_no_more_guesses_than_the_api(client, admin_user, rates, page):
    rates("login", "3/min")
    wrong = [client.post(page, {"username": f"user{i}", "password": "wrong"}).status_code for i in range(3)]
    assert wrong == [200, 200, 200]  # the form again, with its error
    # The right password no longer gets in: the page says why, answered 429.
    response = client.post(page, {"username": "admin", "password": "admin-pass-123"})
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_guesses_on_the_pages_and_the_api_share_one_budget_per_username(client, anonymous_api, admin_user, rates):
    rates("login_username", "2/min")
    assert (
        client.post("/login/", {"username": "admin", "password": "wrong"}, REMOTE_ADDR="127.0.0.5").status_code == 200
    )
    assert (
        client.post("/admin/login/", {"username": "admin", "password": "x"}, REMOTE_ADDR="127.0.0.6").status_code == 200
    )
    assert login(anonymous_api, "admin", address="127.0.0.7").status_code == 429


def test_showing_a_login_page_is_not_an_attempt(client, rates):
    rates("login", "1/min")
    assert [client.get("/login/").status_code for _ in range(3)] == [200, 200, 200]


def test_onvif_discovery_is_rate_limited_per_user(api, rates, refused_url):
    rates("discover", "2/min")
    device = Device.objects.create(name="no onvif", rtsp_url=refused_url)
    codes = [api.post(f"/api/devices/{device.pk}/discover").status_code for _ in range(3)]
    assert codes == [502, 502, 429]  # nothing answers ONVIF there; the third is not even tried
