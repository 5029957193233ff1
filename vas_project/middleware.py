"""Every request gets an id that its log lines and answer carry; a database that goes away
answers 503 on every page, as it does on the API."""

import re
import uuid
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

from vas_project.exceptions import DATABASE_RETRY_AFTER_S, logger
from vas_project.logs import log_context

# A caller's own X-Request-ID is kept when it is a plain token; anything else (long, a newline
# that would forge a log line) is replaced by a new one.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(request: HttpRequest) -> str:
    offered = request.headers.get("X-Request-ID", "")
    return offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Logs the request (and the jobs and webhook deliveries it starts) under its request id,
    answered in X-Request-ID on every response, errors included. The API adds the user once it
    has authenticated them (vas_project.authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        with log_context(request_id=request_id):
            response = self.get_response(request)
            if response.status_code >= 400:
                # Django logs an error answer once the outermost middleware has returned, outside
                # this context; logged here (as Django would) instead, the line has the request id.
                log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        response["X-Request-ID"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """The admin's pages (the API's are answered by its exception handler) say the database is
    unavailable with a 503 and Retry-After, instead of a 500 that reads like a bug."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: %s", type(exception).__name__)
        response = HttpResponse(
            "The database is unavailable; try again shortly.\n", status=503, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
