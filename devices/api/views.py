from django.http import Http404
from rest_framework import viewsets

from devices.api.serializers import DeviceSerializer
from devices.filters import DeviceFilterSet
from devices.models import Device
from vas_project.exceptions import object_not_found


class DeviceViewSet(viewsets.ModelViewSet):
    queryset = Device.objects.all()
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    search_fields = ["name"]

    def get_object(self) -> Device:
        try:
            return super().get_object()
        except Http404:
            raise object_not_found("device") from None
