import base64

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from snapshots.models import Snapshot


class SnapshotDeviceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    name = serializers.CharField()


class SnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    device = SnapshotDeviceSerializer(read_only=True)
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "device",
            "width",
            "height",
            "file_size",
            "content_type",
            "captured_at",
            "trigger",
            "keep",
            "urls",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                name: {"type": "string", "format": "uri"} for name in ("self", "image", "image_data", "thumbnail")
            },
        }
    )
    def get_urls(self, snapshot: Snapshot) -> dict[str, str]:
        request = self.context.get("request")
        urls = {
            "self": reverse("snapshot-detail", args=[snapshot.pk]),
            "image": reverse("snapshot-image-jpg", args=[snapshot.pk]),
            "image_data": reverse("snapshot-image", args=[snapshot.pk]),
            "thumbnail": reverse("snapshot-thumbnail-jpg", args=[snapshot.pk]),
        }
        if request is None:
            return urls
        return {name: request.build_absolute_uri(url) for name, url in urls.items()}


class SnapshotKeepSerializer(serializers.Serializer):  # type: ignore[type-arg]
    keep = serializers.BooleanField(help_text="A kept snapshot is never deleted by retention.")


class SnapshotImageDataSerializer(SnapshotSerializer):
    image_data = serializers.SerializerMethodField(help_text="The JPEG, base64-encoded.")

    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "image_data"]
        read_only_fields = fields

    def get_image_data(self, snapshot: Snapshot) -> str:
        return base64.b64encode(self.context["image_bytes"]).decode()


class BatchCaptureRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000)
    all = serializers.BooleanField(required=False, default=False, help_text="Every enabled camera.")
    force = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if bool(attrs.get("device_ids")) == bool(attrs.get("all")):
            raise serializers.ValidationError('Give either "device_ids" or "all": true.')
        return attrs


class BatchCaptureResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device_id = serializers.UUIDField()
    ok = serializers.BooleanField()
    snapshot = SnapshotSerializer(required=False)
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class BatchCaptureResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    captured = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchCaptureResultSerializer(many=True)
