from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.models import Device
from devices.selectors import Storage, device_storage
from devices.services import GROUP_NOT_ASSIGNABLE, device_create, device_update


class StorageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What a camera stores (devices.selectors.Storage)."""

    bytes = serializers.IntegerField(help_text="Bytes of stored images (thumbnails not counted).")
    snapshots = serializers.IntegerField()
    oldest = serializers.DateTimeField(allow_null=True)
    newest = serializers.DateTimeField(allow_null=True)


class DeviceSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=200,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text=(
            "Write-only. Left out or empty keeps the current password (as in the admin); null clears it. "
            "It is kept only while every endpoint it is sent to (scheme, host and port of rtsp_url, of "
            "snapshot_url, and of the ONVIF address: onvif_host or rtsp_url's host, with onvif_port) is one it "
            "was set with: a change that moves any of them elsewhere clears it, unless the same request gives one."
        ),
    )
    groups = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        # Every group, so that one the user is not in is refused by the services (device_groups_check)
        # in the same words as one that does not exist.
        queryset=Group.objects.all(),
        error_messages={"does_not_exist": GROUP_NOT_ASSIGNABLE},
        help_text=(
            "Ids of the auth groups whose members see this camera and its snapshots (superusers see every "
            "camera; with VAS_CAMERAS_VISIBLE_TO_ALL on, everyone does). Only groups you belong to may be given "
            "(superusers: any); one the camera is in already may stay. Left out on create: the creator's groups."
        ),
    )
    has_password = serializers.BooleanField(read_only=True)
    storage = serializers.SerializerMethodField()
    password_unreadable = serializers.BooleanField(
        read_only=True, help_text="A password is stored but no key in VAS_ENCRYPTION_KEYS decrypts it; set it again."
    )

    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "rtsp_url",
            "snapshot_url",
            "frame_source",
            "onvif_host",
            "onvif_port",
            "onvif_profile",
            "username",
            "password",
            "has_password",
            "password_unreadable",
            "enabled",
            "tls_verify",
            "live",
            "groups",
            "status",
            "last_seen_at",
            "capture_interval_s",
            "retention_days",
            "retention_max_snapshots",
            "retention_max_bytes",
            "storage",
            "next_capture_at",
            "last_error",
            "last_error_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "last_seen_at",
            "next_capture_at",
            "last_error",
            "last_error_at",
            "created_at",
            "updated_at",
        ]
        # Whitespace in a URL is an error to report, not to tidy away.
        extra_kwargs = {
            "rtsp_url": {"trim_whitespace": False},
            "snapshot_url": {"trim_whitespace": False},
            "onvif_host": {"trim_whitespace": False},
            # Device.clean()'s rule, in the API's words (see model_errors).
            "frame_source": {"error_messages": {"snapshot_url_required": "still needs a snapshot_url."}},
        }

    @extend_schema_field(StorageSerializer)
    def get_storage(self, device: Device) -> dict:
        # A list passes its page's figures, read in one query (DeviceViewSet.list).
        storage = self.context.get("storage")
        if storage is None:
            storage = device_storage(device_ids=[device.pk])
        return StorageSerializer(storage.get(device.pk, Storage())).data

    # The password rule (one with the admin: left out or empty keeps the stored password, null
    # clears it, an endpoint it goes to moved elsewhere drops it unless a new one comes with it),
    # the groups a user may give and the rules across fields are the services' (devices.services,
    # Device.clean()).

    def create(self, validated_data: dict) -> Device:
        # The creator comes from DeviceViewSet.perform_create: serializer.save(user=...).
        user = validated_data.pop("user", None)
        try:
            return device_create(user=user, **validated_data)
        except DjangoValidationError as error:
            raise self.model_errors(error) from None

    def update(self, instance: Device, validated_data: dict) -> Device:
        # Who makes the change, for the groups they may give (devices.services.device_groups_check).
        user = getattr(self.context.get("request"), "user", None)
        try:
            return device_update(device=instance, user=user, **validated_data)
        except DjangoValidationError as error:
            raise self.model_errors(error) from None

    def model_errors(self, error: DjangoValidationError) -> serializers.ValidationError:
        """The services' refusal as the 400 a validate() raising it would give: per field, each
        message in the field's own words for its code when it has some (error_messages), as a
        ModelForm words a model's errors."""
        for name, errors in getattr(error, "error_dict", {}).items():
            own = self.fields[name].error_messages if name in self.fields else {}
            for item in errors:
                if item.code in own:
                    item.message = own[item.code]
        return serializers.ValidationError(serializers.as_serializer_error(error))


class DiscoverRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    apply = serializers.CharField(
        required=False,
        max_length=64,
        help_text="A profile token of this camera: fill rtsp_url and snapshot_url from that profile.",
    )


class ProfileSerializer(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField()
    name = serializers.CharField()
    rtsp_url = serializers.CharField()
    snapshot_url = serializers.CharField(help_text="Empty when the camera offers no still image for the profile.")


class DiscoverResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    profiles = ProfileSerializer(many=True)
    applied = serializers.CharField(allow_null=True, help_text="The profile applied, if one was asked for.")
    device = DeviceSerializer()
