"""Production settings are checked in a fresh process, as a deployment would start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION_SECRET = "x7#Kq9!mZ2@vL5$wR8^tY1&nB4*cF6(hJ3)pD0-sG+eA_uI=oE"


def python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Python in a fresh process, in this repository, with none of our settings' variables but env."""
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAS_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return python("manage.py", *args, **env)


def test_production_refuses_to_start_without_secret_key():
    result = manage("check", DJANGO_DEBUG="false", VAS_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_encryption_key():
    result = manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=PRODUCTION_SECRET)
    assert result.returncode != 0
    assert "VAS_ENCRYPTION_KEYS must be set" in result.stderr


def test_check_deploy_is_clean_in_production():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=PRODUCTION_SECRET,
        VAS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_bad_boolean_in_environment_is_a_clear_error():
    result = manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


WITHOUT_CELERY = """
import sys
sys.modules["celery"] = None  # as if Celery were not installed: importing it raises ImportError
import django
from django.core.management import call_command
django.setup()
call_command("check")
import vas_project
print("celery_app:", vas_project.celery_app)
"""


def test_the_product_starts_without_celery_installed():
    result = python("-c", WITHOUT_CELERY, DJANGO_SETTINGS_MODULE="vas_project.settings")
    assert result.returncode == 0, result.stderr
    assert "celery_app: None" in result.stdout


def test_a_page_size_out_of_range_refuses_to_start():
    result = manage("check", VAS_PAGE_SIZE="0")
    assert result.returncode != 0
    assert "VAS_PAGE_SIZE must be from 1 to 100" in result.stderr


def test_an_unknown_log_format_refuses_to_start():
    result = manage("check", VAS_LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "VAS_LOG_FORMAT must be plain or json, not 'xml'" in result.stderr


@pytest.mark.parametrize("name", ["VAS_LIVE_SESSION_TTL_S", "VAS_LIVE_LEASE_S"])
def test_a_live_lapse_shorter_than_the_keepers_refresh_refuses_to_start(name):
    result = manage("check", **{name: "1"})
    assert result.returncode != 0
    assert f"{name} must be whole seconds from 2 to 3600" in result.stderr


@pytest.mark.parametrize("keys", ["not-a-key", f"{Fernet.generate_key().decode()},short"])
def test_a_malformed_encryption_key_refuses_to_start_without_showing_it(keys):
    result = manage("check", VAS_ENCRYPTION_KEYS=keys)
    assert result.returncode != 0
    assert "is not a Fernet key" in result.stderr
    assert "not-a-key" not in result.stderr and "short" not in result.stderr
