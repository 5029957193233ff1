import logging

from django.contrib.auth import authenticate, get_user_model
from django.http import JsonResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from vas_project.exceptions import ApiError
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


def bad_request(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)
