from django.db.models import QuerySet
from django.http import Http404
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from devices.api.serializers import DeviceSerializer
from devices.filters import DeviceFilterSet
from devices.models import Device
from devices.selectors import device_storage, devices_visible
from devices.services import device_give_creator_groups
from vas_project.exceptions import object_not_found


class DeviceViewSet(viewsets.ModelViewSet):
    queryset = Device.objects.all()
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    search_fields = ["name"]

    def get_queryset(self) -> QuerySet[Device]:
        # A camera the user may not see is as absent as one that does not exist: 404, never 403.
        return devices_visible(user=self.request.user).prefetch_related("groups")

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        # What the page's cameras store, in one query for the page (not one per camera).
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the API paginates every list  # noqa: S101
        context = {**self.get_serializer_context(), "storage": device_storage(device_ids=[row.pk for row in page])}
        return self.get_paginated_response(self.get_serializer(page, many=True, context=context).data)

    def get_object(self) -> Device:
        try:
            return super().get_object()
        except Http404:
            raise object_not_found("device") from None

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        device = serializer.save()
        device_give_creator_groups(device=device, user=self.request.user)
