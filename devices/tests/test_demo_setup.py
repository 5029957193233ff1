from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

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
