import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from devices import crypto
from devices.models import Device

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


def test_unknown_key_gives_a_clear_error(settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    device = Device.objects.create(name="cam", rtsp_url="rtsp://127.0.0.1/a", password="lost")
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(crypto.DecryptionError, match="cannot be decrypted"):
        Device.objects.get(pk=device.pk)
