from rest_framework import serializers

from exports.services import KINDS
from snapshots.api.jpeg import MAX_WIDTH_PX, MIN_WIDTH_PX

MAX_FPS = 60


class ExportRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device_id = serializers.UUIDField()
    start = serializers.DateTimeField(help_text="Included.")
    end = serializers.DateTimeField(help_text="Excluded.")
    kind = serializers.ChoiceField(
        choices=list(KINDS), help_text="zip: the JPEGs, named by capture time; timelapse: an MP4."
    )
    fps = serializers.IntegerField(
        required=False, default=10, min_value=1, max_value=MAX_FPS, help_text="Timelapse frames per second."
    )
    width = serializers.IntegerField(
        required=False, min_value=MIN_WIDTH_PX, max_value=MAX_WIDTH_PX, help_text="Downscale every frame to this width."
    )

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if attrs["end"] <= attrs["start"]:  # type: ignore[operator]
            raise serializers.ValidationError({"end": "end must come after start."})
        return attrs
