"""Fixtures shared by every app's tests."""

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from devices.models import Device


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
