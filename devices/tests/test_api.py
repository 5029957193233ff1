import pytest

from devices.models import Device

pytestmark = pytest.mark.django_db

NEW_DEVICE = {"name": "Gate", "rtsp_url": "rtsp://127.0.0.1:8554/gate", "username": "cam", "password": "s3cret-gate"}


def test_create_device_returns_201_without_password(api):
    response = api.post("/api/devices/", NEW_DEVICE, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Gate"
    assert body["has_password"] is True
    assert body["status"] == "unknown"
    assert "password" not in body
    assert "s3cret-gate" not in response.content.decode()
    assert Device.objects.get(pk=body["id"]).password == "s3cret-gate"


@pytest.mark.parametrize("path", ["/api/devices/", "/api/devices"])
def test_list_answers_both_slash_forms_without_redirect(api, device, path):
    response = api.get(path)
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "Lobby"


def test_list_pagination_body(api):
    Device.objects.bulk_create([Device(name=f"cam{i:02}", rtsp_url="rtsp://127.0.0.1/x") for i in range(12)])
    body = api.get("/api/devices/?per_page=5&page=2").json()
    assert body["count"] == 12
    assert body["page"] == 2
    assert body["per_page"] == 5
    assert [d["name"] for d in body["results"]] == ["cam05", "cam06", "cam07", "cam08", "cam09"]
    assert body["next"] and body["previous"]


def test_list_default_page_size_is_ten(api):
    Device.objects.bulk_create([Device(name=f"cam{i:02}", rtsp_url="rtsp://127.0.0.1/x") for i in range(12)])
    assert len(api.get("/api/devices/").json()["results"]) == 10


@pytest.mark.parametrize("per_page", ["0", "abc", "101", "-3"])
def test_bad_per_page_is_400_naming_it(api, per_page):
    response = api.get(f"/api/devices/?per_page={per_page}")
    assert response.status_code == 400
    assert "per_page" in response.json()["errors"]


@pytest.mark.parametrize("page", ["-1", "99", "abc"])
def test_page_out_of_range_is_404_json(api, device, page):
    response = api.get(f"/api/devices/?page={page}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_filter_by_status(api):
    Device.objects.create(name="up", rtsp_url="rtsp://127.0.0.1/a", status=Device.Status.ONLINE)
    Device.objects.create(name="down", rtsp_url="rtsp://127.0.0.1/b", status=Device.Status.OFFLINE)
    names = [d["name"] for d in api.get("/api/devices/?status=offline").json()["results"]]
    assert names == ["down"]


def test_bad_status_filter_is_400(api):
    response = api.get("/api/devices/?status=sleeping")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_search_by_name(api):
    Device.objects.create(name="Front door", rtsp_url="rtsp://127.0.0.1/a")
    Device.objects.create(name="Car park", rtsp_url="rtsp://127.0.0.1/b")
    names = [d["name"] for d in api.get("/api/devices/?search=door").json()["results"]]
    assert names == ["Front door"]


@pytest.mark.parametrize("path_suffix", ["", "/"])
def test_retrieve_device(api, device, path_suffix):
    response = api.get(f"/api/devices/{device.pk}{path_suffix}")
    assert response.status_code == 200
    assert response.json()["id"] == str(device.pk)


def test_retrieve_unknown_device_is_404_json(api):
    response = api.get("/api/devices/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"detail": "No camera with that id.", "code": "device_not_found"}


def test_patch_without_password_keeps_it(api):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1/a", password="keep-me")
    response = api.patch(f"/api/devices/{device.pk}", {"name": "Gate 2"}, format="json")
    assert response.status_code == 200
    device.refresh_from_db()
    assert (device.name, device.password) == ("Gate 2", "keep-me")


def test_patch_with_password_replaces_it(api):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1/a", password="old")
    api.patch(f"/api/devices/{device.pk}", {"password": "new-one"}, format="json")
    device.refresh_from_db()
    assert device.password == "new-one"


def test_put_replaces_fields(api, device):
    response = api.put(
        f"/api/devices/{device.pk}/", {"name": "Hall", "rtsp_url": "rtsps://127.0.0.1/hall"}, format="json"
    )
    assert response.status_code == 200
    device.refresh_from_db()
    assert (device.name, device.rtsp_url) == ("Hall", "rtsps://127.0.0.1/hall")


def test_delete_device(api, device):
    assert api.delete(f"/api/devices/{device.pk}").status_code == 204
    assert api.delete(f"/api/devices/{device.pk}").status_code == 404
    assert not Device.objects.exists()


def test_duplicate_name_is_400_naming_field(api, device):
    response = api.post("/api/devices/", {**NEW_DEVICE, "name": "Lobby"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/stream",
        "file:///etc/passwd",
        "rtsp://",
        "rtsp:///path",
        "rtsp://user:pw@127.0.0.1/stream",
        "rtsp://user@127.0.0.1/stream",
        "rtsp://127.0.0.1/with space",
        " rtsp://127.0.0.1/lead",
        "rtsp://127.0.0.1:99999/badport",
        "-f lavfi",
        "",
    ],
)
def test_invalid_rtsp_url_is_400_naming_field(api, url):
    response = api.post("/api/devices/", {**NEW_DEVICE, "rtsp_url": url}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "rtsp_url" in body["errors"]
    assert "pw@" not in response.content.decode()


def test_missing_fields_are_400_naming_them(api):
    response = api.post("/api/devices/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "rtsp_url"}


def test_malformed_json_is_400(api):
    response = api.generic("POST", "/api/devices/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_viewer_can_list_but_not_create_or_delete(viewer_api, device):
    assert viewer_api.get("/api/devices/").status_code == 200
    assert viewer_api.post("/api/devices/", NEW_DEVICE, format="json").status_code == 403
    response = viewer_api.delete(f"/api/devices/{device.pk}")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_patch_with_null_password_clears_it(api):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1/a", password="old")
    response = api.patch(f"/api/devices/{device.pk}", {"password": None}, format="json")
    assert response.json()["has_password"] is False
    device.refresh_from_db()
    assert device.password == ""


def test_patch_with_empty_password_keeps_it_as_the_admin_does(api):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1/a", password="keep-me")
    response = api.patch(f"/api/devices/{device.pk}", {"password": ""}, format="json")
    assert response.json()["has_password"] is True
    device.refresh_from_db()
    assert device.password == "keep-me"


@pytest.mark.parametrize(
    ("new_url", "kept"),
    [
        ("rtsp://127.0.0.1:8554/other-path", True),  # same host and port, another stream
        ("RTSP://127.0.0.1:8554/a", True),
        ("rtsp://127.0.0.1:9554/a", False),  # another port
        ("rtsp://localhost:8554/a", False),  # another host
        ("rtsp://127.0.0.1/a", False),  # the default port, 554
    ],
)
def test_a_url_moved_to_another_endpoint_drops_the_password(api, new_url, kept):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1:8554/a", password="stays-home")
    response = api.patch(f"/api/devices/{device.pk}", {"rtsp_url": new_url}, format="json")
    assert response.status_code == 200
    assert response.json()["has_password"] is kept
    device.refresh_from_db()
    assert device.password == ("stays-home" if kept else "")


def test_the_default_port_written_out_is_the_same_endpoint(api):
    device = Device.objects.create(name="Gate", rtsp_url="rtsps://127.0.0.1/a", password="stays-home")
    api.patch(f"/api/devices/{device.pk}", {"rtsp_url": "rtsps://127.0.0.1:322/b"}, format="json")
    device.refresh_from_db()
    assert device.password == "stays-home"
    # Down from rtsps to rtsp, the password would cross the network in clear text.
    api.patch(f"/api/devices/{device.pk}", {"rtsp_url": "rtsp://127.0.0.1:322/b"}, format="json")
    device.refresh_from_db()
    assert device.password == ""


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_password_given_with_the_new_endpoint_is_stored(api, method):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1:8554/a", password="old")
    body = {"name": "Gate", "rtsp_url": "rtsp://127.0.0.1:9554/a", "password": "for-the-new-one"}
    response = getattr(api, method)(f"/api/devices/{device.pk}", body, format="json")
    assert response.json()["has_password"] is True
    device.refresh_from_db()
    assert device.password == "for-the-new-one"


def test_list_orders_by_a_known_field(api):
    for name in ("b", "c", "a"):
        Device.objects.create(name=name, rtsp_url=f"rtsp://127.0.0.1/{name}")
    names = [row["name"] for row in api.get("/api/devices/?ordering=-name").json()["results"]]
    assert names == ["c", "b", "a"]


def test_unknown_ordering_is_400_naming_it(api, device):
    response = api.get("/api/devices/?ordering=password")
    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


def test_page_size_comes_from_the_setting(api, settings):
    for number in range(4):
        Device.objects.create(name=f"cam{number}", rtsp_url=f"rtsp://127.0.0.1/{number}")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 3}
    body = api.get("/api/devices/").json()
    assert (body["per_page"], len(body["results"]), body["count"]) == (3, 3, 4)


def test_an_ordering_of_empty_parts_keeps_the_default_order(api):
    for name in ("b", "c", "a"):
        Device.objects.create(name=name, rtsp_url=f"rtsp://127.0.0.1/{name}")
    response = api.get("/api/devices/?ordering=,")
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["a", "b", "c"]


@pytest.mark.parametrize("name", ["Gate\nOK    forged line", "Gate\x1b[2J", "Gate\u202eetaG", "Gate\x00"])
def test_a_name_with_control_characters_is_400_naming_it(api, name):
    response = api.post("/api/devices/", {**NEW_DEVICE, "name": name}, format="json")
    assert response.status_code == 400
    assert "The name must not contain control characters." in response.json()["errors"]["name"]
    assert not Device.objects.exists()


def test_a_name_in_any_script_is_accepted(api):
    response = api.post("/api/devices/", {**NEW_DEVICE, "name": "Tür 北门 دروازه"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_still_source_without_a_snapshot_url_is_400_naming_frame_source(api, device, method):
    body = {**NEW_DEVICE, "frame_source": "still"} if method == "post" else {"frame_source": "still"}
    url = "/api/devices/" if method == "post" else f"/api/devices/{device.pk}"
    response = getattr(api, method)(url, body, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {
            "detail": "Invalid input: frame_source.",
            "code": "invalid",
            "errors": {"frame_source": ["still needs a snapshot_url."]},
        },
    )
    assert list(Device.objects.values_list("frame_source", flat=True)) == ["auto"]
