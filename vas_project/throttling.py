"""Rate limits: login attempts per client address and per username, captures per user."""

import hashlib
import logging

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class FailOpen(SimpleRateThrottle):
    """A throttle whose cache is down or hangs (1 s socket timeouts) lets the request through
    with a logged warning: an outage of the counters must not become an outage of logins."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            logger.warning("rate limit %s not applied: its cache failed (%s)", self.scope, type(exc).__name__)
            return True


class LoginClientThrottle(FailOpen, AnonRateThrottle):
    """Login attempts per client address (login requests are never authenticated)."""

    scope = "login"


class LoginUsernameThrottle(FailOpen):
    """Slows password guessing on one account, whichever addresses it comes from."""

    scope = "login_username"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username:
            return None
        # Hashed: a username may hold any character, a cache key may not.
        ident = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


LOGIN_THROTTLES = [LoginClientThrottle, LoginUsernameThrottle]


class CaptureThrottle(FailOpen, UserRateThrottle):
    """Captures per user (or per client address when anonymous)."""

    scope = "capture"
