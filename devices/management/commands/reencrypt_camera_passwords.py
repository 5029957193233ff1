from django.core.management.base import BaseCommand, CommandError

from devices.services import device_passwords_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every camera password with the newest key in VAS_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        result = device_passwords_reencrypt()
        self.stdout.write(f"re-encrypted {result.reencrypted} camera password(s) with the newest key")
        for device in result.unreadable:
            self.stdout.write(f"skipped {device.name} ({device.pk}): no configured key decrypts its password")
        if result.unreadable:
            raise CommandError(
                f"{len(result.unreadable)} camera password(s) could not be decrypted: add the key they were "
                "encrypted with to VAS_ENCRYPTION_KEYS, or set those passwords again. Keep the old keys until then."
            )
