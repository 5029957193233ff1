"""The API's authentication (simplejwt's bearer tokens, then Django's session) naming the user in
the request's log lines: DRF authenticates in the view, after every middleware has run."""

from typing import Any

from drf_spectacular import authentication as spectacular
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import authentication
from rest_framework.request import Request
from rest_framework_simplejwt import authentication as simplejwt

from vas_project.logs import log_context_add


def _logged(found: tuple[Any, Any] | None) -> tuple[Any, Any] | None:
    if found is not None:
        log_context_add(user_id=found[0].pk)
    return found


class JWTAuthentication(simplejwt.JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        return _logged(super().authenticate(request))


class SessionAuthentication(authentication.SessionAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        return _logged(super().authenticate(request))


# drf-spectacular describes an authentication class in the OpenAPI schema by its exact class.
class JWTScheme(SimpleJWTScheme):
    target_class = "vas_project.authentication.JWTAuthentication"


class SessionScheme(spectacular.SessionScheme):
    target_class = "vas_project.authentication.SessionAuthentication"
