from django.urls import reverse
from rest_framework import serializers

from vas_project.public_urls import absolute_url
from webhooks.models import Delivery, Event, Webhook
from webhooks.services import webhook_update
from webhooks.validators import validate_webhook_url

SECRET_MIN_CHARS = 16


class WebhookSerializer(serializers.ModelSerializer[Webhook]):
    url = serializers.URLField(max_length=500, validators=[validate_webhook_url])
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), min_length=1, max_length=len(Event.choices)
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=SECRET_MIN_CHARS,
        max_length=200,
        style={"input_type": "password"},
        help_text="Write-only. Signs every request (X-VAS-Signature); required when creating, left out keeps it.",
    )
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "secret", "active", "created_by", "created_at", "urls"]
        read_only_fields = ["id", "created_by", "created_at", "urls"]

    def validate_events(self, events: list[str]) -> list[str]:
        return sorted(set(events))

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if self.instance is None and not attrs.get("secret"):
            raise serializers.ValidationError({"secret": "A new webhook needs a secret."})
        return attrs

    def update(self, instance: Webhook, validated_data: dict) -> Webhook:
        # Through the services: a webhook turned off has its pending deliveries cancelled.
        return webhook_update(webhook=instance, **validated_data)

    def get_urls(self, webhook: Webhook) -> dict[str, str]:
        urls = {
            "self": reverse("webhook-detail", args=[webhook.pk]),
            "deliveries": reverse("webhook-deliveries", args=[webhook.pk]),
        }
        return {name: absolute_url(url, self.context.get("request")) for name, url in urls.items()}


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "cancel_reason",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "request_id",
            "payload",
        ]
        read_only_fields = fields
