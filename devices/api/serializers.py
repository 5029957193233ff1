from django.contrib.auth.models import Group
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.models import Device, FrameSource
from devices.selectors import Storage, device_storage
from devices.validators import password_survives_urls_change


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
            "Changing rtsp_url to another host, port or from rtsps to rtsp clears it unless one is given."
        ),
    )
    groups = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Group.objects.all(),
        help_text=(
            "Ids of the auth groups whose members see this camera and its snapshots (superusers see every "
            "camera; with VAS_CAMERAS_VISIBLE_TO_ALL on, everyone does). Left out on create: the creator's groups."
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
        extra_kwargs = {"rtsp_url": {"trim_whitespace": False}, "snapshot_url": {"trim_whitespace": False}}

    @extend_schema_field(StorageSerializer)
    def get_storage(self, device: Device) -> dict:
        # A list passes its page's figures, read in one query (DeviceViewSet.list).
        storage = self.context.get("storage")
        if storage is None:
            storage = device_storage(device_ids=[device.pk])
        return StorageSerializer(storage.get(device.pk, Storage())).data

    def validate(self, attrs: dict) -> dict:
        # One rule with the admin: empty keeps the stored password, an explicit null clears it,
        # and a URL moved to another endpoint drops it unless a new one comes with it.
        password = attrs.pop("password", "")
        if password is None:
            attrs["password"] = ""
        elif password:
            attrs["password"] = password
        elif self.instance is not None and not password_survives_urls_change(
            old_rtsp=self.instance.rtsp_url,
            new_rtsp=attrs.get("rtsp_url", self.instance.rtsp_url),
            old_snapshot=self.instance.snapshot_url,
            new_snapshot=attrs.get("snapshot_url", self.instance.snapshot_url),
        ):
            attrs["password"] = ""
        snapshot_url = attrs.get("snapshot_url", self.instance.snapshot_url if self.instance else "")
        frame_source = attrs.get("frame_source", self.instance.frame_source if self.instance else FrameSource.AUTO)
        if frame_source == FrameSource.STILL and not snapshot_url:
            raise serializers.ValidationError({"frame_source": "still needs a snapshot_url."})
        return attrs


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
