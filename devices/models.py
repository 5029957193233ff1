import uuid

from django.db import models

from devices.fields import EncryptedTextField
from devices.validators import validate_rtsp_url


class Device(models.Model):
    class Status(models.TextChoices):
        ONLINE = "online"
        OFFLINE = "offline"
        UNKNOWN = "unknown"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    rtsp_url = models.CharField("RTSP URL", max_length=1024, validators=[validate_rtsp_url])
    username = models.CharField(max_length=100, blank=True)
    # Ciphertext in the database; see devices.crypto.
    password = EncryptedTextField(blank=True)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_password(self) -> bool:
        return bool(self.password)
