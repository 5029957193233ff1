"""Rate limits: login attempts per client address and per username, captures per user."""

import hashlib

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle
from rest_framework.views import APIView


class LoginClientThrottle(AnonRateThrottle):
    """Login attempts per client address (login requests are never authenticated)."""

    scope = "login"


class LoginUsernameThrottle(SimpleRateThrottle):
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


class CaptureThrottle(UserRateThrottle):
    """Captures per user (or per client address when anonymous)."""

    scope = "capture"
