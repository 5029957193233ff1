"""A request's API key: `Authorization: Api-Key <key>` (the library's header) or `X-Api-Key:
<key>`, and on the raw JPEG routes alone HTTP Basic with the key as the password. Never a
query parameter: a URL reaches access logs, proxies and browser histories.

The key's scope is checked here rather than in a permission class, because views replace the
default permission classes (webhooks, the schema) and a key's scope must hold on every route."""

import base64
import binascii
from typing import Any, NoReturn

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework_api_key.permissions import KeyParser

from apikeys.models import ApiKey
from apikeys.scopes import IMAGE_ROUTES, SAFE_METHODS, scope_required
from apikeys.selectors import api_key_admits, api_key_camera_limit, api_key_found
from apikeys.services import api_key_used

# The module, not its function: it imports DRF's views, which import this class from the settings.
from vas_project import throttling
from vas_project.logs import log_context_add
from vas_project.permissions import camera_limit_set

KEYWORD = "Api-Key"


class KeyRefused(exceptions.AuthenticationFailed):
    """401 with the reason's code; the sentence never holds the key."""


def _from_basic(request: Request) -> str | None:
    keyword, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if keyword.lower() != "basic" or request.method not in SAFE_METHODS or _route(request) not in IMAGE_ROUTES:
        return None
    try:
        _username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password or None


def _route(request: Request) -> str | None:
    match = request._request.resolver_match
    return match.url_name if match is not None else None


def key_presented(request: Request) -> str | None:
    """The key the request carries, if any, from the places a key is accepted."""
    parser = KeyParser()
    return (
        parser.get_from_authorization(request._request)
        or parser.get_from_header(request._request, "HTTP_X_API_KEY")
        or _from_basic(request)
    )


def _refuse_wrong_key(request: Request) -> NoReturn:
    # A wrong key spends the client's budget of login attempts, as a wrong password does.
    refusal = throttling.login_refused(request._request)
    if refusal:
        raise exceptions.Throttled(detail=refusal)
    raise KeyRefused("The API key is not valid.", code="key_invalid")


def api_key_checked(request: Request, key: str) -> ApiKey:
    """The request's key when it may be used from here, now, for this route; else refused."""
    api_key = api_key_found(key=key)
    if api_key is None or not api_key.user.is_active:
        _refuse_wrong_key(request)
    if api_key.revoked:
        raise KeyRefused("The API key has been revoked.", code="key_invalid")
    if api_key.has_expired:
        raise KeyRefused("The API key has expired.", code="key_invalid")
    if not api_key_admits(api_key=api_key, address=BaseThrottle().get_ident(request)):
        raise KeyRefused("The API key is not accepted from this address.", code="key_address")
    needed = scope_required(route=_route(request), method=request.method or "GET")
    if needed not in api_key.scopes:
        raise exceptions.PermissionDenied(f"The API key lacks the '{needed}' scope.", code="key_scope")
    return api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        key = key_presented(request)
        if key is None:
            return None
        api_key = api_key_checked(request, key)
        user = api_key.user
        limit = api_key_camera_limit(api_key=api_key)
        if limit is not None:
            camera_limit_set(user=user, limit=limit)
        api_key_used(api_key=api_key)
        log_context_add(user_id=user.pk, api_key_prefix=api_key.prefix)
        return user, api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API key: "Api-Key <key>" (or the X-Api-Key header).',
        }
