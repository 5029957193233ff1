from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from capture import onvif
from devices.api.serializers import DeviceSerializer, DiscoverRequestSerializer, DiscoverResponseSerializer
from devices.filters import DeviceFilterSet
from devices.models import Device
from devices.selectors import device_storage, devices_visible
from devices.services import device_apply_profile, device_delete, device_discover
from vas_project.exceptions import ApiError, ErrorSerializer, object_not_found
from vas_project.permissions import ChangePermissionToPost
from vas_project.throttling import DiscoveryThrottle

ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404, 502)}
DISCOVER_ERRORS = {**ERRORS, 429: ErrorSerializer}


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
        # The creator, whose groups a camera created without any joins (devices.services.device_create).
        serializer.save(user=self.request.user)

    def perform_destroy(self, instance: Device) -> None:
        device_delete(device=instance)

    @extend_schema(request=DiscoverRequestSerializer, responses={200: DiscoverResponseSerializer, **DISCOVER_ERRORS})
    @action(
        detail=True, methods=["post"], permission_classes=[ChangePermissionToPost], throttle_classes=[DiscoveryThrottle]
    )
    def discover(self, request: Request, pk: str) -> Response:
        """Ask the camera's ONVIF service for its profiles (RTSP stream and snapshot URIs); with
        {"apply": token}, fill rtsp_url and snapshot_url from that profile."""
        params = DiscoverRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        device = self.get_object()
        try:
            profiles = device_discover(device=device)
        except onvif.DiscoveryError as error:
            raise ApiError(str(error), code=error.code, status_code=502) from None
        token = params.validated_data.get("apply")
        if token is not None:
            chosen = next((profile for profile in profiles if profile.token == token), None)
            if chosen is None:
                raise ApiError("The camera has no profile with that token.", code="profile_not_found", status_code=400)
            try:
                device = device_apply_profile(device=device, profile=chosen)
            except DjangoValidationError as error:
                message = f"The camera offered a URL this server does not accept: {' '.join(error.messages)}"
                raise ApiError(message, code="profile_unusable", status_code=502) from None
        body = {"profiles": profiles, "applied": token, "device": device}
        return Response(DiscoverResponseSerializer(body, context=self.get_serializer_context()).data)
