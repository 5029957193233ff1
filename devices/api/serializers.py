from rest_framework import serializers

from devices.models import Device


class DeviceSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Write-only. Leave out to keep the current password; an empty string clears it.",
    )
    has_password = serializers.BooleanField(read_only=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "rtsp_url",
            "username",
            "password",
            "has_password",
            "enabled",
            "status",
            "last_seen_at",
            "capture_interval_s",
            "retention_days",
            "retention_max_snapshots",
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
        extra_kwargs = {"rtsp_url": {"trim_whitespace": False}}
