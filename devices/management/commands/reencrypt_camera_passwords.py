from django.core.management.base import BaseCommand

from devices.services import device_passwords_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every camera password with the newest key in VAS_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        count = device_passwords_reencrypt()
        self.stdout.write(f"re-encrypted {count} camera password(s) with the newest key")
