from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from vas_project.exceptions import ApiError
from vas_project.permissions import StaffSeeingEveryCamera
from webhooks.api.serializers import DeliverySerializer, WebhookSerializer
from webhooks.models import Webhook


class WebhookViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """Receivers of events (staff who see every camera: the events name every camera):
    snapshot.created, capture.failed, device.online, device.offline, job.finished; each delivery
    is signed and retried, and listed."""

    queryset = Webhook.objects.select_related("created_by")
    serializer_class = WebhookSerializer
    permission_classes = [StaffSeeingEveryCamera]
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_object(self) -> Webhook:
        try:
            return super().get_object()
        except Http404:
            raise ApiError("No webhook with that id.", code="webhook_not_found", status_code=404) from None

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.save(created_by=self.request.user)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        """This webhook's deliveries, newest first: state, attempts, the receiver's last status and error."""
        page = self.paginate_queryset(self.get_object().deliveries.all())
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
