from rest_framework import viewsets

from devices.api.serializers import DeviceSerializer
from devices.filters import DeviceFilterSet
from devices.models import Device


class DeviceViewSet(viewsets.ModelViewSet):
    queryset = Device.objects.all()
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "last_seen_at"]
