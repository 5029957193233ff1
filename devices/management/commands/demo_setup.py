import os
import secrets
import shlex

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from devices.models import Device


class Command(BaseCommand):
    help = "Create the demo camera and admin user (password from DJANGO_SUPERUSER_PASSWORD, or printed once)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.getenv("DJANGO_SUPERUSER_USERNAME", "admin"))
        parser.add_argument("--camera-url", help="register (or repoint) the 'Demo camera' device at this RTSP URL")
        parser.add_argument(
            "--migrate", action="store_true", help="apply the migrations first (make demo: one process, not two)"
        )

    def handle(self, *args, username, camera_url, migrate, **options):
        if migrate:
            # The streams under this command's wrappers: wrapped twice, each "Applying ..." would end its line.
            call_command("migrate", interactive=False, stdout=self.stdout._out, stderr=self.stderr._out)
        if camera_url:
            Device.objects.update_or_create(
                name="Demo camera",
                # A scheduled capture every minute, keeping the newest 100 snapshots.
                defaults={
                    "rtsp_url": camera_url,
                    "enabled": True,
                    "status": Device.Status.UNKNOWN,
                    "capture_interval_s": 60,
                    "retention_max_snapshots": 100,
                },
            )
            self.stdout.write(f"demo camera registered at {camera_url}")
        self.create_admin(username)

    def create_admin(self, username):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(
                f"admin user {username!r} exists; its password is unchanged"
                f" (to set a new one: .venv/bin/python manage.py changepassword {shlex.quote(username)})"
            )
            return
        password = os.getenv("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username, "", password)
        if os.getenv("DJANGO_SUPERUSER_PASSWORD"):
            self.stdout.write(f"created admin user {username!r} with the password from DJANGO_SUPERUSER_PASSWORD")
        else:
            self.stdout.write(f"created admin user {username!r} with password: {password}")
