import logging

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from vas_project.exceptions import ApiError, error_response
from vas_project.public_urls import absolute_url
from vas_project.throttling import LOGIN_THROTTLES

logger = logging.getLogger(__name__)


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class LoginJsonView(APIView):
    """Log in with a JSON body, as the first VAS did."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = LOGIN_THROTTLES

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: inline_serializer(
                "LoginTokens",
                {
                    "access_token": serializers.CharField(),
                    "refresh_token": serializers.CharField(),
                    "token_type": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            raise ApiError("Wrong username or password.", code="invalid_credentials", status_code=401)
        refresh = RefreshToken.for_user(user)
        return Response(
            {"access_token": str(refresh.access_token), "refresh_token": str(refresh), "token_type": "bearer"}
        )


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    throttle_classes = LOGIN_THROTTLES


class RefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    def validate(self, attrs):
        try:
            user = self._user(RefreshToken(attrs["refresh"]))
        except get_user_model().DoesNotExist:
            # The token is genuine, but its user was deleted since.
            raise exceptions.AuthenticationFailed("The token's user no longer exists.", code="user_not_found") from None
        claim = jwt_settings.REVOKE_TOKEN_CLAIM
        if user is not None and RefreshToken(attrs["refresh"]).get(claim) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(
                "The password changed since this token was issued.", code="token_revoked"
            )
        return super().validate(attrs)

    @staticmethod
    def _user(refresh: RefreshToken):
        user_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
        if user_id is None:
            return None
        return get_user_model().objects.get(**{jwt_settings.USER_ID_FIELD: user_id})


class TokenRefreshView(jwt_views.TokenRefreshView):
    serializer_class = RefreshSerializer


# GET /api/: the public entry points, by route name.
INDEX_ROUTES = {
    "docs": "docs",
    "schema": "schema",
    "health": "health",
    "login": "login-json",
    "token": "token-obtain",
}


class ApiIndexView(APIView):
    """Where to start: links to the docs page, the schema, health and the login routes, for anyone."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="api_index",
        tags=["api"],
        responses={200: inline_serializer("ApiIndex", {name: serializers.URLField() for name in INDEX_ROUTES})},
    )
    def get(self, request):
        return Response({name: absolute_url(reverse(route), request) for name, route in INDEX_ROUTES.items()})


def asks_for_a_page(request: HttpRequest | Request) -> bool:
    """A browser: its Accept header names text/html. An API client names JSON, or sends none
    (which reads as */*, so request.accepts("text/html") would be true for it too)."""
    return any(media.main_type == "text" and media.sub_type == "html" for media in request.accepted_types)


class ApiPageMixin(APIView):
    """The schema and the docs page. A browser without a login is sent to the login page and back;
    every other error is the API's JSON, not Swagger's bare "401 Unauthorized" text or the
    schema's YAML."""

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except exceptions.NotAcceptable:
            # Who may read the page is told before the formats it comes in: a client asking the
            # docs page for JSON without a login is a 401, as on every other route.
            self.perform_authentication(request)
            self.check_permissions(request)
            raise

    # DRF's stubs say a Response; dispatch takes any HttpResponse, as the redirect is.
    def handle_exception(self, exc: Exception) -> HttpResponseBase:  # type: ignore[override]
        request = self.request
        if isinstance(exc, exceptions.NotAuthenticated) and asks_for_a_page(request):
            return redirect_to_login(request.get_full_path())
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().handle_exception(exc)


class ApiSchemaView(ApiPageMixin, SpectacularAPIView):
    pass


class ApiDocsView(ApiPageMixin, SpectacularSwaggerView):
    pass


@csrf_exempt
def no_route(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Any path under /api/ that is no route (an unknown path, an id that is not a UUID), whatever
    the method and with DEBUG on too, where Django would answer its debug page listing every URL
    pattern. Exempt from CSRF like every API route, so a POST is told 404, not 403."""
    return error_response("Not found.", code="not_found", status=404)


def bad_request(request, exception=None):
    if request.path.startswith("/api/"):
        return error_response("Bad request.", code="bad_request", status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        return error_response(
            "You do not have permission to perform this action.", code="permission_denied", status=403
        )
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return no_route(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return error_response("Internal server error.", code="server_error", status=500)
    return defaults.server_error(request)
