"""Fixtures shared by every app's tests."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from playwright.sync_api import sync_playwright
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from devices.models import Device
from snapshots.tests import servers
from vas_project import metrics


def pytest_configure(config):
    # The SQLite test database and the test camera's media live here.
    (Path(__file__).resolve().parent / ".cache").mkdir(exist_ok=True)
    # The session's counts (and those of the processes its tests start, which inherit the
    # variable) go to a directory of its own, not to .cache/metrics where a demo counts.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        config.metrics_dir = tempfile.mkdtemp(prefix="vas-test-metrics-")
        metrics.metrics_count_into(config.metrics_dir)


def pytest_unconfigure(config):
    if getattr(config, "metrics_dir", None):
        shutil.rmtree(config.metrics_dir, ignore_errors=True)


def bearer_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "admin-pass-123")


@pytest.fixture
def viewer_user(db) -> User:
    """A user who may view devices and snapshots but change nothing."""
    user = User.objects.create_user("viewer", password="viewer-pass-123")
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_device", "view_snapshot"]))
    return user


@pytest.fixture
def api(admin_user) -> APIClient:
    return bearer_client(admin_user)


@pytest.fixture
def viewer_api(viewer_user) -> APIClient:
    return bearer_client(viewer_user)


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def device(db) -> Device:
    return Device.objects.create(name="Lobby", rtsp_url="rtsp://127.0.0.1:1/none")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 at full strength would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def camera(tmp_path_factory):
    """The RTSP test camera: real GStreamer, real keyframe timing, on 127.0.0.1."""
    test_camera = servers.start_test_camera(tmp_path_factory.mktemp("camera"), paths=8)
    yield test_camera
    servers.stop_process(test_camera.process)


@pytest.fixture
def silent_server():
    server = servers.SilentServer()
    yield server
    server.close()


@pytest.fixture
def refused_url() -> str:
    """An RTSP URL where nothing listens."""
    return f"rtsp://127.0.0.1:{servers.free_port()}/stream"


@pytest.fixture(autouse=True)
def webhooks_only_to_this_machine(settings):
    # Generated requests (the fuzz test) may register any webhook URL: none is ever called.
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # Throttle counters live in the cache; each test starts with none.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def live_store_of_the_tests(tmp_path_factory):
    """The tests' keepers publish into a directory of their own, not a demo's on the same machine."""
    from django.conf import settings
    from django.test.utils import override_settings

    location = tmp_path_factory.mktemp("live")
    live_cache = settings.CACHES["live"]
    if "LOCATION" in live_cache and not live_cache["BACKEND"].endswith("RedisCache"):
        live_cache = {**live_cache, "LOCATION": str(location)}
    with override_settings(LIVE_DIR=location, CACHES={**settings.CACHES, "live": live_cache}):
        yield


@pytest.fixture(autouse=True)
def empty_live_store():
    # Frames, sessions and leases of one test's keepers are gone before the next test.
    from django.core.cache import caches

    yield
    caches["live"].clear()


# The pages in a real browser: Debian's Chromium driven by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def peers():
    """Hostile HTTP (or raw TCP) peers on 127.0.0.1 (capture/tests/hostile.py), closed at the end."""
    from capture.tests import hostile

    made: list[hostile.Peer] = []

    def make(answer: hostile.Answer, *, http: bool = True) -> hostile.Peer:
        made.append(hostile.Peer(answer, http=http))
        return made[-1]

    yield make
    for peer in made:
        peer.close()
