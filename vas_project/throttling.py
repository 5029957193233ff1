"""Rate limits: login attempts per client address and per username, captures per user."""

import functools
import hashlib
import logging
import math
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
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
        # A DRF request's body, or a login page's form.
        data = request.data if isinstance(request, Request) else request.POST
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return None
        # Hashed: a username may hold any character, a cache key may not.
        ident = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


LOGIN_THROTTLES = [LoginClientThrottle, LoginUsernameThrottle]


def login_refused(request: HttpRequest) -> str:
    """For a login page's POST: the same counters as the API's login (per client address and
    per username), so guesses through every password path share one budget. The sentence to
    show when the attempt is refused; empty when it may go on."""
    for throttle in (throttle_class() for throttle_class in LOGIN_THROTTLES):
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]  # a page, not an APIView
            wait_s = throttle.wait() or 60
            return f"Too many login attempts. Try again in {math.ceil(wait_s)} seconds."
    return ""


def throttled_login(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A login page whose POSTs are throttled like the API's login: a refused one shows the
    page again with the reason, answered 429."""

    @functools.wraps(view)
    def login(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST" and (refusal := login_refused(request)):
            return render(request, LOGIN_REFUSED_TEMPLATE, {"refusal": refusal}, status=429)
        return view(request, *args, **kwargs)

    return login


LOGIN_REFUSED_TEMPLATE = "login_refused.html"


class CaptureThrottle(FailOpen, UserRateThrottle):
    """Captures per user (or per client address when anonymous)."""

    scope = "capture"


class DiscoveryThrottle(FailOpen, UserRateThrottle):
    """ONVIF discoveries per user: each holds a worker up to the capture timeout and asks the
    camera about seven times."""

    scope = "discover"
