import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo admin user (password from DJANGO_SUPERUSER_PASSWORD, or generated and printed once)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.getenv("DJANGO_SUPERUSER_USERNAME", "admin"))

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"admin user {username!r} exists; its password is unchanged")
            return
        password = os.getenv("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username, "", password)
        if os.getenv("DJANGO_SUPERUSER_PASSWORD"):
            self.stdout.write(f"created admin user {username!r} with the password from DJANGO_SUPERUSER_PASSWORD")
        else:
            self.stdout.write(f"created admin user {username!r} with password: {password}")
