from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.api.serializers import ApiKeyCreatedSerializer, ApiKeyCreateSerializer, ApiKeySerializer
from apikeys.models import ApiKey
from apikeys.selectors import api_keys_visible
from apikeys.services import api_key_create, api_key_revoke
from vas_project.exceptions import ERRORS, ApiError


class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):  # type: ignore[type-arg]
    """Long-lived API keys for integrations, each narrowing its user: your own (staff who see
    every camera: everyone's). A key's secret is in the answer that makes it, never again;
    DELETE revokes it at once."""

    serializer_class = ApiKeySerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[ApiKey]:
        return api_keys_visible(user=self.request.user).prefetch_related("devices", "groups")

    def get_object(self) -> ApiKey:
        try:
            return super().get_object()
        except Http404:
            raise ApiError("No API key with that id.", code="key_not_found", status_code=404) from None

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        if isinstance(request.auth, ApiKey):
            # A key could otherwise make a key wider than itself (no cameras named: all the user's).
            raise ApiError("Keys are made after logging in, not with a key.", code="key_scope", status_code=403)
        given = ApiKeyCreateSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        fields = given.validated_data
        api_key, secret = api_key_create(
            user=request.user,  # type: ignore[arg-type]  # IsAuthenticated
            name=fields["name"],
            scopes=fields["scopes"],
            devices=fields["device_ids"],
            groups=fields["group_ids"],
            expires_at=fields["expires_at"],
            allowed_ips=fields["allowed_ips"],
        )
        api_key.key = secret  # type: ignore[attr-defined]
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, **ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        api_key_revoke(api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
