from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apikeys.models import SCOPES, ApiKey
from apikeys.validators import (
    DEVICE_NOT_GIVABLE,
    GROUP_NOT_GIVABLE,
    validate_expiry,
    validate_networks,
    validate_scopes,
)
from devices.selectors import devices_visible, groups_visible


def _checked(validator, value):  # type: ignore[no-untyped-def]
    try:
        validator(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None
    return value


class ApiKeySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A key as lists and details show it: its prefix, never its secret."""

    device_ids: serializers.Field = serializers.PrimaryKeyRelatedField(source="devices", many=True, read_only=True)  # type: ignore[type-arg]
    group_ids: serializers.Field = serializers.PrimaryKeyRelatedField(source="groups", many=True, read_only=True)  # type: ignore[type-arg]
    expires_at = serializers.DateTimeField(source="expiry_date", read_only=True, allow_null=True)
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "user",
            "scopes",
            "device_ids",
            "group_ids",
            "expires_at",
            "allowed_ips",
            "created",
            "last_used_at",
            "revoked",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What a key is made with; each camera and group must be the user's to give."""

    name = serializers.CharField(max_length=50)
    scopes = serializers.ListField(child=serializers.CharField(), help_text="Some of: " + ", ".join(SCOPES) + ".")
    device_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, help_text="Only these cameras."
    )
    group_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, help_text="Only these groups' cameras."
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    allowed_ips = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        default=list,
        help_text="Client networks (CIDR) the key is accepted from; empty: any.",
    )

    def validate_scopes(self, value: list[str]) -> list[str]:
        return _checked(validate_scopes, value)

    def validate_allowed_ips(self, value: list[str]) -> list[str]:
        return _checked(validate_networks, value)

    def validate_expires_at(self, value):  # type: ignore[no-untyped-def]
        return _checked(validate_expiry, value)

    def validate_device_ids(self, value):  # type: ignore[no-untyped-def]
        devices = list(devices_visible(user=self.context["request"].user).filter(pk__in=value))
        if len(devices) != len(set(value)):
            raise serializers.ValidationError(DEVICE_NOT_GIVABLE)
        return devices

    def validate_group_ids(self, value):  # type: ignore[no-untyped-def]
        groups = list(groups_visible(user=self.context["request"].user).filter(pk__in=value))
        if len(groups) != len(set(value)):
            raise serializers.ValidationError(GROUP_NOT_GIVABLE)
        return groups


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """The answer to making a key: the only one that holds the key itself."""

    key = serializers.CharField(read_only=True, help_text="The key. Shown this once: it is stored only as a hash.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
