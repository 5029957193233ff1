"""Every request gets an id that its log lines and answer carry; a database that goes away
answers 503 on every page, as it does on the API."""

import re
import uuid
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

from vas_project.exceptions import DATABASE_RETRY_AFTER_S, error_response, logger
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


# An error answer under /api/ that some part of Django made as a page (DEBUG's technical pages for
# a bad Host header or a middleware's error, before any view runs), in the API's one error body.
API_ERRORS_BY_STATUS = {
    400: ("Bad request.", "bad_request"),
    403: ("You do not have permission to perform this action.", "permission_denied"),
    404: ("Not found.", "not_found"),
    405: ("Method not allowed.", "method_not_allowed"),
    500: ("Internal server error.", "server_error"),
}


class ApiAnswersJsonMiddleware:
    """Every answer under /api/ is JSON, with DEBUG on too: an error page from outside the API's
    views (Django's checks in the middleware below) becomes the one error body, never a traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400:
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        detail, code = API_ERRORS_BY_STATUS.get(response.status_code, ("The request failed.", "error"))
        return error_response(detail, code=code, status=response.status_code)
