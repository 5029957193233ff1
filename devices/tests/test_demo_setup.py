from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from devices.models import Device

pytestmark = pytest.mark.django_db


def run_demo_setup() -> str:
    out = StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def test_generates_and_prints_a_password_once(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    first = run_demo_setup()
    password = first.strip().rsplit(" ", 1)[-1]
    assert authenticate(username="admin", password=password) is not None
    second = run_demo_setup()
    assert password not in second
    assert "exists" in second


def test_uses_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from-env-pass-9")
    output = run_demo_setup()
    assert "from-env-pass-9" not in output
    assert authenticate(username="admin", password="from-env-pass-9") is not None


def test_registers_the_demo_camera_once():
    call_command("demo_setup", "--camera-url", "rtsp://127.0.0.1:8554/h264", stdout=StringIO())
    call_command("demo_setup", "--camera-url", "rtsp://127.0.0.1:9554/h264", stdout=StringIO())
    assert list(Device.objects.values_list("name", "rtsp_url")) == [("Demo camera", "rtsp://127.0.0.1:9554/h264")]
