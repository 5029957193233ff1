"""A database that goes away answers 503 on every page, as it does on the API."""

from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from vas_project.exceptions import DATABASE_RETRY_AFTER_S, logger


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
