"""Writes on devices."""

from django.db import transaction

from devices.models import Device


def device_passwords_reencrypt() -> int:
    """Re-encrypt every stored camera password with the newest key; return how many.

    Run after putting a new key first in VAS_ENCRYPTION_KEYS; the old keys can be
    removed once this has run.
    """
    count = 0
    with transaction.atomic():
        for device in Device.objects.exclude(password="").only("pk", "password").select_for_update():
            # Saving the decrypted value encrypts it again with the first key.
            Device.objects.filter(pk=device.pk).update(password=device.password)
            count += 1
    return count
