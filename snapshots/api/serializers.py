import base64
import uuid
from datetime import datetime
from functools import cached_property

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from capture import live
from devices.api.serializers import StorageSerializer
from snapshots.api.jpeg import MAX_WIDTH_PX, MIN_WIDTH_PX
from snapshots.models import Snapshot
from snapshots.representation import SIGNED_URL_NAMES, URL_NAMES, SnapshotDicts
from snapshots.selectors import SNAPSHOT_FIELDS


class SnapshotDeviceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    name = serializers.CharField()


class SnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    device = SnapshotDeviceSerializer(read_only=True)
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Snapshot
        fields = [*SNAPSHOT_FIELDS, "urls"]
        read_only_fields = fields

    def to_representation(self, snapshot: Snapshot) -> dict[str, object]:
        # The same answer as DRF's field-by-field walk (a test compares the two), made by
        # representation.SnapshotDicts because DRF's walk costs a 100-row page 2.6 ms of CPU and
        # 15-20% of its requests/s through gunicorn.
        return self._dicts.as_dict(snapshot)

    @extend_schema_field(
        {
            "type": "object",
            "properties": {name: {"type": "string", "format": "uri"} for name in [*URL_NAMES, *SIGNED_URL_NAMES]},
        }
    )
    def get_urls(self, snapshot: Snapshot) -> dict[str, str]:
        return self._dicts.urls(snapshot)

    @cached_property
    def _dicts(self) -> SnapshotDicts:
        # One per answer: a list serializer's rows share their parent's context.
        return SnapshotDicts(request=self.context.get("request"), device_names=self.context.get("device_names"))


class SnapshotKeepSerializer(serializers.Serializer):  # type: ignore[type-arg]
    keep = serializers.BooleanField(help_text="A kept snapshot is never deleted by retention.")


class SnapshotImageDataSerializer(SnapshotSerializer):
    image_data = serializers.SerializerMethodField(help_text="The JPEG, base64-encoded.")

    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "image_data"]
        read_only_fields = fields

    def to_representation(self, snapshot: Snapshot) -> dict[str, object]:
        return {**super().to_representation(snapshot), "image_data": self.get_image_data(snapshot)}

    def get_image_data(self, snapshot: Snapshot) -> str:
        return base64.b64encode(self.context["image_bytes"]).decode()


class BatchCaptureRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=10000)
    all = serializers.BooleanField(required=False, default=False, help_text="Every enabled camera.")
    force = serializers.BooleanField(required=False, default=False)

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        # "async" is a Python keyword, so it cannot be a class attribute.
        return {
            **super().get_fields(),
            "async": serializers.BooleanField(
                required=False,
                default=False,
                help_text="Answer 202 with a job at once and capture in the background (always for a batch "
                "larger than VAS_BATCH_MAX_DEVICES); GET /api/jobs/{id} follows it.",
            ),
        }

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if bool(attrs.get("device_ids")) == bool(attrs.get("all")):
            raise serializers.ValidationError('Give either "device_ids" or "all": true.')
        return attrs


class BatchCaptureResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One camera's row: a services.CaptureResult."""

    device_id = serializers.UUIDField()
    ok = serializers.BooleanField()
    snapshot = SnapshotSerializer(required=False)
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
    # Filled in below from the result's elapsed_s; a not-found row was never tried and has none.
    elapsed_ms = serializers.IntegerField(required=False, help_text="How long this camera's capture took.")

    def to_representation(self, result: object) -> dict[str, object]:
        # A row shows its snapshot or its error; the other side is left out, not null.
        row = {name: value for name, value in super().to_representation(result).items() if value is not None}
        elapsed_s = getattr(result, "elapsed_s", None)
        if elapsed_s is not None:
            row["elapsed_ms"] = round(elapsed_s * 1000)
        return row


class BatchCaptureResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    captured = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchCaptureResultSerializer(many=True)


class LiveFrameSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The stream keeper's current frame of a camera (a live.LiveImage), not stored."""

    device_id = serializers.SerializerMethodField()
    captured_at = serializers.SerializerMethodField(help_text="When the keyframe arrived from the camera.")
    frame_age_ms = serializers.SerializerMethodField()
    width = serializers.IntegerField(source="frame.width")
    height = serializers.IntegerField(source="frame.height")
    file_size = serializers.SerializerMethodField(help_text="Bytes of the JPEG at /live.jpg.")
    image = serializers.SerializerMethodField()

    def get_device_id(self, image: live.LiveImage) -> uuid.UUID:
        return self.context["device"].pk

    def get_captured_at(self, image: live.LiveImage) -> datetime:
        return datetime.fromtimestamp(image.frame.captured_at, tz=timezone.get_current_timezone())

    def get_frame_age_ms(self, image: live.LiveImage) -> int:
        return round(image.frame.age_s * 1000)

    def get_file_size(self, image: live.LiveImage) -> int:
        return len(image.jpeg)

    @extend_schema_field({"type": "string", "format": "uri"})
    def get_image(self, image: live.LiveImage) -> str:
        url = reverse("device-live-jpg", args=[self.context["device"].pk])
        request = self.context.get("request")
        return url if request is None else request.build_absolute_uri(url)


class ShareRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ttl_s = serializers.IntegerField(
        required=False,
        min_value=60,
        help_text="Seconds the link works: from 60 to VAS_SHARE_MAX_TTL_S (7 days). Default: VAS_SIGNED_LINK_TTL_S.",
    )
    width = serializers.IntegerField(
        required=False,
        min_value=MIN_WIDTH_PX,
        max_value=MAX_WIDTH_PX,
        help_text="Downscale the shared image to this width.",
    )

    def validate_ttl_s(self, value: int) -> int:
        if value > settings.SHARE_MAX_TTL_S:
            raise serializers.ValidationError(f"At most {settings.SHARE_MAX_TTL_S} seconds (VAS_SHARE_MAX_TTL_S).")
        return value


class ShareResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    url = serializers.URLField(help_text="The snapshot's image; works without login until expires_at.")
    expires_at = serializers.DateTimeField()


class StorageTotalsSerializer(StorageSerializer):
    """What the cameras the user may see store in all (snapshots.selectors.storage_usage)."""

    cameras = serializers.IntegerField(help_text="Cameras with at least one snapshot.")
