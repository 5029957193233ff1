import uuid

from django.conf import settings
from django.db import models

from vas_project.fields import EncryptedTextField


class Event(models.TextChoices):
    SNAPSHOT_CREATED = "snapshot.created"
    CAPTURE_FAILED = "capture.failed"
    DEVICE_ONLINE = "device.online"
    DEVICE_OFFLINE = "device.offline"
    JOB_FINISHED = "job.finished"


class Webhook(models.Model):
    """A receiver of events: each event it asks for is POSTed to its URL, signed with its secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text='The events sent, e.g. ["snapshot.created"].')
    # Ciphertext in the database (vas_project.crypto), like a camera password; never shown again.
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One event on its way to one webhook: sent after the event's transaction committed,
    retried with growing pauses until the receiver answers 2xx or the attempts run out, or
    cancelled when its webhook is deactivated (cancel_reason says so)."""

    class State(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        # Stopped before it was delivered, for good: reactivating the webhook does not resend it.
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=30, choices=Event.choices)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt may start; an attempt under way pushes it past its own timeout (a
    # lease), so no other process sends the same delivery meanwhile. None once finished.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status = models.PositiveIntegerField(null=True, blank=True, help_text="The receiver's last HTTP status.")
    last_error = models.CharField(max_length=300, blank=True)
    cancel_reason = models.CharField(max_length=100, blank=True, help_text="Why it was cancelled.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The X-Request-ID of the request (or job) that caused the event, sent on in the same header.
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.state})"
