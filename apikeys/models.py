"""Long-lived API keys for integrations: each a user's, narrowing what that user may do.

djangorestframework-api-key's AbstractAPIKey gives the key's making and checking (a random
prefix and secret, the SHA-512 of the whole key stored, never the key), its name, expiry and
irreversible revocation. Added here: a UUID id (the library's id is the prefix and the hash,
which must not reach a URL or a log line), the user, scopes, cameras, groups, client networks
and the last use."""

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from devices.models import Device

# What a key may be used for: reading cameras and images, capturing, event triggers (accepted
# and stored for the trigger route to come), changing things (cameras, webhooks, keys).
SCOPES = ("view", "capture", "trigger", "manage")


class ApiKeyManager(BaseAPIKeyManager):
    def assign_key(self, obj: AbstractAPIKey) -> str:
        # The library's own also sets the primary key to the prefix and the hash: ours is a UUID.
        key, prefix, hashed_key = self.key_generator.generate()
        obj.prefix = prefix
        obj.hashed_key = hashed_key
        return key


class ApiKey(AbstractAPIKey):
    objects = ApiKeyManager()  # type: ignore[assignment,misc]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # type: ignore[assignment]
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=list, help_text="Some of: " + ", ".join(SCOPES) + ".")
    devices = models.ManyToManyField(
        Device, blank=True, related_name="api_keys", help_text="Only these cameras (with the groups' below)."
    )
    groups = models.ManyToManyField(
        Group, blank=True, related_name="api_keys", help_text="Only the cameras of these groups (with those above)."
    )
    allowed_ips = models.JSONField(
        default=list, blank=True, help_text="Client networks (CIDR) the key is accepted from; empty: any."
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"
