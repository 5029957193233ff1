import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from capture import sources
from devices.models import Device


class Snapshot(models.Model):
    class Trigger(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        COMMAND = "command"
        SCHEDULE = "schedule"

    # Where the frame came from: a row of capture.sources.SOURCES (live, oneshot, still).
    Source = models.TextChoices(  # type: ignore[call-overload]  # django-stubs knows only the class form
        "Source", [(name.upper(), name) for name in sorted(sources.SOURCE_NAMES)]
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="snapshots")
    image = models.BinaryField()
    thumbnail = models.BinaryField()
    content_type = models.CharField(max_length=50, default="image/jpeg")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file_size = models.PositiveIntegerField(help_text="Size of the image in bytes.")
    captured_at = models.DateTimeField(default=timezone.now)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    keep = models.BooleanField(default=False, help_text="Never deleted by retention.")
    # Empty and null on snapshots stored before these were recorded.
    source = models.CharField(max_length=10, choices=Source.choices, blank=True, help_text="Where the frame came from.")
    frame_age_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="How old the frame was when it was stored, in milliseconds."
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The key that encrypted image and thumbnail (vas_project.crypto); empty: stored as they are.
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        # The id breaks ties between snapshots of one moment, so pages never overlap or skip.
        ordering = ["-captured_at", "-id"]
        get_latest_by = "captured_at"
        indexes = [
            # One camera's list and keyset pages; with file_size in it, what a camera stores
            # (devices.selectors.device_storage) is summed from the index alone.
            models.Index(fields=["device", "-captured_at", "-id", "file_size"], name="snapshot_device_captured_id"),
            # The list of all cameras' snapshots, newest first: without it every page sorts the
            # whole table. A keyset page (?cursor=) starts at its position in it.
            models.Index(fields=["-captured_at", "-id"], name="snapshot_captured_id"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} @ {self.captured_at:%Y-%m-%d %H:%M:%S}"
