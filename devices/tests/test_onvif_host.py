"""onvif_host is a host name or an IP address (IPv6 with or without its brackets), nothing else:
no spaces, line breaks, credentials, port, path or URL. A camera stored before the rule stays
readable and editable in its other fields; a change of its onvif_host asks for a valid one."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from devices.models import Device
from devices.services import device_update
from devices.validators import validate_onvif_host

pytestmark = pytest.mark.django_db

VALID = [
    "cam",
    "cam-01.site.example",
    "CAM.Example",
    "cam_01.local",
    "a" * 63 + ".example",
    "192.168.1.10",
    "10.0.0.5",
    "::1",
    "[::1]",
    "fe80::1",
    "[FE80::1]",
    "2001:db8::8a2e:370:7334",
    "::ffff:192.0.2.1",
]
INVALID = [
    " cam",
    "cam ",
    "cam era",
    "cam\r\nX-Injected: 1",
    "cam\n",
    "cam\t",
    "user@cam",
    "user:pw@cam",
    "cam/onvif/device_service",
    "http://cam",
    "http://cam/onvif",
    "cam:8080",
    "192.168.1.10:80",
    "[::1]:80",
    "[::1",
    "::1]",
    "[192.168.1.10]",
    "[cam]",
    "fe80::1%eth0",
    "cam%0d%0a",
    "-cam",
    "cam-",
    "a..b",
    ".cam",
    "cam.",
    "a" * 64,
    ("a" * 63 + ".") * 4 + "a",  # 257 characters
    "999.1.1.1",
    "192.168.1",
    "010.0.0.1",
    "1.2.3.4.5",
    "cam?x=1",
    "cam#x",
    "cäm",
    "cam\x00",
    ":::",
]


@pytest.mark.parametrize("host", VALID)
def test_a_host_name_or_an_ip_address_is_accepted(host):
    validate_onvif_host(host)


@pytest.mark.parametrize("host", INVALID)
def test_anything_else_is_refused(host):
    with pytest.raises(ValidationError) as refused:
        validate_onvif_host(host)
    assert refused.value.code == "invalid"


@pytest.mark.parametrize("host", ["cam era", "cam\r\nX-Injected: 1", "user@cam", "http://cam/onvif", "cam:8080"])
@pytest.mark.parametrize("method", ["post", "patch", "put"])
def test_the_api_answers_400_naming_onvif_host(api, device, host, method):
    body = {"name": "Gate", "rtsp_url": "rtsp://127.0.0.1/gate", "onvif_host": host}
    path = "/api/devices/" if method == "post" else f"/api/devices/{device.pk}"
    response = getattr(api, method)(path, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "onvif_host": ["The ONVIF host must be a host name or an IP address, without a scheme, port or path."]
    }
    assert not Device.objects.filter(name="Gate").exists()
    assert Device.objects.get(pk=device.pk).onvif_host == ""


@pytest.mark.parametrize("host", ["cam-01.site.example", "[::1]", "fe80::1", "192.168.1.10", ""])
def test_the_api_stores_a_valid_one_as_given(api, device, host):
    response = api.patch(f"/api/devices/{device.pk}", {"onvif_host": host}, format="json")
    assert (response.status_code, response.json()["onvif_host"]) == (200, host)


def test_the_admin_shows_the_error_on_its_field(client, admin_user, device):
    client.force_login(admin_user)
    data = {"name": device.name, "rtsp_url": device.rtsp_url, "frame_source": "auto", "onvif_port": "80"}
    response = client.post(f"/admin/devices/device/{device.pk}/change/", {**data, "onvif_host": "cam/x y"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "onvif_host": ["The ONVIF host must be a host name or an IP address, without a scheme, port or path."]
    }


def test_a_camera_stored_before_the_rule_stays_readable_and_editable_in_its_other_fields(api):
    device = Device.objects.create(name="Old", rtsp_url="rtsp://127.0.0.1/a")
    with connection.cursor() as cursor:  # as a row written before the validator
        cursor.execute("UPDATE devices_device SET onvif_host = %s WHERE id = %s", ["cam\r\nbad host", device.pk])
    assert api.get(f"/api/devices/{device.pk}").json()["onvif_host"] == "cam\r\nbad host"
    assert api.get("/api/devices/").status_code == 200
    assert api.patch(f"/api/devices/{device.pk}", {"enabled": False}, format="json").status_code == 200
    device_update(device=Device.objects.get(pk=device.pk), name="Old 2")
    # Sent back whole, or changed, it must be valid.
    body = {"name": "Old 2", "rtsp_url": "rtsp://127.0.0.1/a", "onvif_host": "cam\r\nbad host"}
    assert "onvif_host" in api.put(f"/api/devices/{device.pk}", body, format="json").json()["errors"]
    with pytest.raises(ValidationError):
        device_update(device=Device.objects.get(pk=device.pk), onvif_host="still bad")
    response = api.patch(f"/api/devices/{device.pk}", {"onvif_host": "cam"}, format="json")
    assert (response.status_code, response.json()["onvif_host"]) == (200, "cam")
