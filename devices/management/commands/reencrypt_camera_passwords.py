from django.core.management.base import CommandError

from devices.services import device_passwords_reencrypt
from vas_project.commands import ResultCommand
from webhooks.services import webhook_secrets_reencrypt


class Command(ResultCommand):
    help = "Re-encrypt every camera password and webhook secret with the newest key in VAS_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        result = device_passwords_reencrypt()
        self.stdout.write(f"re-encrypted {result.reencrypted} camera password(s) with the newest key")
        for device in result.unreadable:
            self.stdout.write(f"skipped {device.name} ({device.pk}): no configured key decrypts its password")
        secrets = webhook_secrets_reencrypt()
        unreadable_webhooks = secrets.unreadable
        self.stdout.write(f"re-encrypted {secrets.reencrypted} webhook secret(s) with the newest key")
        for webhook in unreadable_webhooks:
            self.stdout.write(f"skipped the webhook {webhook.pk}: no configured key decrypts its secret")
        if result.unreadable or unreadable_webhooks:
            raise CommandError(
                f"{len(result.unreadable)} camera password(s) and {len(unreadable_webhooks)} webhook secret(s) "
                "could not be decrypted: add the key they were encrypted with to VAS_ENCRYPTION_KEYS, or set them "
                "again. Keep the old keys until then."
            )
