import logging
import uuid

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from monitoring.models import Heartbeat
from monitoring.selectors import components_status
from snapshots import rtsp
from vas_project.exceptions import ApiError
from vas_project.throttling import LOGIN_THROTTLES

logger = logging.getLogger(__name__)


# Once this process saw every migration applied; a schema is not un-migrated under a running server.
_schema_migrated = False


def schema_migrated() -> bool:
    global _schema_migrated
    if not _schema_migrated:
        executor = MigrationExecutor(connection)
        _schema_migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _schema_migrated


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        migrated = schema_migrated()
    except DatabaseError as exc:
        logger.warning("health: database unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": "database unreachable"}
    if not migrated:
        logger.warning("health: the database schema is not migrated")
        return {"ok": False, "error": "database schema not migrated: run manage.py migrate"}
    return {"ok": True, "vendor": connection.vendor}


def cache_status() -> dict:
    """The cache behind the rate limits (and the default live store): can it be written and read?"""
    probe = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(probe, 1, 5)
        ok = cache.get(probe) == 1
        cache.delete(probe)
    except Exception as exc:
        logger.warning("health: cache unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": "cache unreachable; rate limits are not applied"}
    return {"ok": ok, "backend": type(cache).__name__}


def background_status() -> dict[str, dict]:
    """The stream keeper, the scheduler and the Celery workers from their heartbeats: ok, not ok
    (should run and does not, or stopped beating), or ok None when it never ran and nothing needs it."""
    try:
        components = components_status()
    except DatabaseError as exc:
        logger.warning("health: heartbeats unreadable: %s", type(exc).__name__)
        return {part: {"ok": False, "error": "database unreachable"} for part in Heartbeat.Component.values}
    return {
        part.component: {
            "ok": part.ok,
            "running": part.running,
            "last_beat_at": part.last_beat_at.isoformat() if part.last_beat_at else None,
        }
        for part in components
    }


def only_whether_ok(part: dict) -> dict:
    # FFmpeg's version and the database vendor help an attacker more than a
    # load balancer: callers other than staff see only whether each part works.
    return {"ok": part["ok"]}


class HealthView(APIView):
    # Anyone may ask; a staff member (JWT or session) sees the details.
    permission_classes = [AllowAny]

    def perform_authentication(self, request):
        # The database may be the part that is down: the caller is then anonymous, not a 500.
        try:
            request.user  # noqa: B018 - authenticates
        except DatabaseError:
            request.user, request.auth = AnonymousUser(), None

    @extend_schema(
        responses={
            200: inline_serializer("Health", {"status": serializers.CharField()}),
            503: inline_serializer("HealthDown", {"status": serializers.CharField()}),
        }
    )
    def get(self, request):
        database = database_status()
        ffmpeg_found = rtsp.library_status()
        cache_found = cache_status()
        background = background_status()
        if not request.user.is_staff:
            database, ffmpeg_found, cache_found = (
                only_whether_ok(part) for part in (database, ffmpeg_found, cache_found)
            )
            background = {name: only_whether_ok(part) for name, part in background.items()}
        body = {
            "status": "ok" if database["ok"] else "unavailable",
            "database": database,
            "ffmpeg": ffmpeg_found,
            # Without the cache the product works, only without rate limits: not a 503.
            "cache": cache_found,
            # Without them the API works (captures go one-shot, nothing runs on schedule): not a 503.
            **background,
        }
        code = status.HTTP_200_OK if database["ok"] else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(body, status=code)


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
