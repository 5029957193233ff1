from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from devices.models import Device
from vas_project import crypto

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_password(device: Device) -> str:
    """The password column as the database holds it, bypassing the model field."""
    # SQLite stores UUIDs as 32 hex characters, PostgreSQL as its uuid type.
    pk = device.pk.hex if connection.vendor == "sqlite" else device.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM devices_device WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_password_column_holds_ciphertext_not_plain_text():
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="plain-secret-42")
    stored = raw_password(device)
    assert "plain-secret-42" not in stored
    assert crypto.decrypt(stored) == "plain-secret-42"


def test_password_round_trips_through_the_database():
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="päss wörd:@/")
    assert Device.objects.get(pk=device.pk).password == "päss wörd:@/"


def test_empty_password_stays_empty():
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a")
    assert raw_password(device) == ""
    assert Device.objects.get(pk=device.pk).has_password is False


def test_old_key_still_decrypts_after_a_new_key_is_added(settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="rotate-me")
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert Device.objects.get(pk=device.pk).password == "rotate-me"


def test_reencrypt_command_moves_passwords_to_the_newest_key(settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="rotate-me")
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("reencrypt_camera_passwords")
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    assert Device.objects.get(pk=device.pk).password == "rotate-me"
    assert Fernet(NEW_KEY).decrypt(raw_password(device).encode()) == b"rotate-me"


@pytest.fixture
def unreadable_camera(settings) -> Device:
    """A camera whose password was encrypted with a key no longer configured."""
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    device = Device.objects.create(name="lost key", rtsp_url="rtsp://127.0.0.1:9/a", username="u", password="lost")
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    return device


def test_an_undecryptable_password_reads_as_unreadable_and_is_kept_as_stored(unreadable_camera, settings):
    stored = raw_password(unreadable_camera)
    device = Device.objects.get(pk=unreadable_camera.pk)
    assert device.password_unreadable
    assert device.has_password
    device.name = "renamed"
    device.save()  # any save writes the ciphertext back untouched
    assert raw_password(device) == stored
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert Device.objects.get(pk=device.pk).password == "lost"  # the right key brings it back


def test_one_undecryptable_password_breaks_no_page(api, admin_user, client, unreadable_camera):
    Device.objects.create(name="fine", rtsp_url="rtsp://127.0.0.1:9/b", password="readable")
    listed = api.get("/api/devices/")
    assert listed.status_code == 200
    rows = {row["name"]: row for row in listed.json()["results"]}
    assert rows["lost key"]["password_unreadable"] is True
    assert rows["fine"]["password_unreadable"] is False
    assert api.get(f"/api/devices/{unreadable_camera.pk}").status_code == 200
    capture = api.post(f"/api/snapshots/capture/{unreadable_camera.pk}")
    assert (capture.status_code, capture.json()["code"]) == (409, "password_unreadable")
    client.force_login(admin_user)
    for page in ("/admin/devices/device/", f"/admin/devices/device/{unreadable_camera.pk}/change/"):
        response = client.get(page)
        assert response.status_code == 200
    assert "no key in VAS_ENCRYPTION_KEYS decrypts it" in response.content.decode()
    assert client.get("/admin/snapshots/snapshot/").status_code == 200
    call_command("prune_snapshots", stdout=StringIO())


def test_reencrypt_skips_and_reports_an_undecryptable_password(unreadable_camera):
    readable = Device.objects.create(name="fine", rtsp_url="rtsp://127.0.0.1:9/b", password="readable")
    out = StringIO()
    with pytest.raises(CommandError, match="1 camera password"):
        call_command("reencrypt_camera_passwords", stdout=out)
    assert "re-encrypted 1 camera password" in out.getvalue()
    assert f"skipped lost key ({unreadable_camera.pk})" in out.getvalue()
    assert Fernet(NEW_KEY).decrypt(raw_password(readable).encode()) == b"readable"
