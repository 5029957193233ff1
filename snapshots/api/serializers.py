from rest_framework import serializers

from snapshots.models import Snapshot


class SnapshotDeviceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class SnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    device = SnapshotDeviceSerializer(read_only=True)

    class Meta:
        model = Snapshot
        fields = ["id", "device", "width", "height", "file_size", "content_type", "captured_at", "trigger"]
        read_only_fields = fields
