"""GET /api/health: liveness, the database, FFmpeg's libraries, the cache and the background parts."""

import logging
import uuid

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from capture import rtsp
from monitoring.models import Heartbeat
from monitoring.selectors import components_status

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
