"""Every API error answers {"detail": sentence, "code": stable code[, "errors": per field]}."""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.log import log_response
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from vas_project.crypto import ImageUnreadable

logger = logging.getLogger(__name__)

# Seconds a client should wait before asking again when the database is away.
DATABASE_RETRY_AFTER_S = 5


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The shape of every error answer, for the OpenAPI schema."""

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        # "errors" would shadow Serializer.errors as a class attribute.
        return {
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "errors": serializers.DictField(required=False, help_text="Messages per input field."),
        }


# The error answers most routes may give, for their OpenAPI responses.
Responses = dict[int | tuple[int, str], object]
ERRORS: Responses = {code: ErrorSerializer for code in (400, 401, 403, 404)}


class ApiError(exceptions.APIException):
    """An error with its own status, human sentence and stable code."""

    def __init__(self, detail: str, *, code: str, status_code: int):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code


def error_response(detail: str, *, code: str, status: int) -> JsonResponse:
    """The same error body from a plain Django view (the signed links' routes), outside DRF."""
    return JsonResponse({"detail": detail, "code": code}, status=status)


NOT_FOUND_MESSAGES = {"device": "No camera with that id.", "snapshot": "No snapshot with that id."}


def object_not_found(kind: str, detail: str = "") -> ApiError:
    """The one 404 of each kind of object ("device", "snapshot"): code `<kind>_not_found`."""
    return ApiError(detail or NOT_FOUND_MESSAGES[kind], code=f"{kind}_not_found", status_code=404)


def _first_code(codes) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        codes = list(codes.values())
    for item in codes:
        return _first_code(item)
    return "error"


def exception_handler(exc, context):
    """Answer every error as {"detail": sentence, "code": stable code[, "errors": per field]}."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        message = "The request body is larger than this server accepts (VAS_MAX_REQUEST_BYTES)."
        exc = ApiError(message, code="request_too_large", status_code=413)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation | BadRequest | MultiPartParserError):
        # Django's own request checks (too many query parameters, say): its 400, which with DEBUG
        # on it would answer as its technical page. A suspicious one is logged as Django logs it.
        if isinstance(exc, SuspiciousOperation):
            logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        exc = ApiError("Bad request.", code="bad_request", status_code=400)
    elif isinstance(exc, ObjectDoesNotExist):
        # Deleted between two reads of one request (its row, then its image bytes): gone, not a 500.
        kind = type(exc).__qualname__.split(".")[0].lower()
        exc = object_not_found(kind) if kind in NOT_FOUND_MESSAGES else exceptions.NotFound()
    elif isinstance(exc, ImageUnreadable):
        exc = ApiError(str(exc), code="image_unreadable", status_code=409)
    elif isinstance(exc, OperationalError | InterfaceError):
        # The database went away (restart, failover, connection killed): the request may be
        # repeated. Its other errors (IntegrityError, DataError) are bugs and stay 500s.
        logger.warning("database unavailable: %s", type(exc).__name__)
        exc = ApiError("The database is unavailable; try again shortly.", code="database_unavailable", status_code=503)
    response = drf_exception_handler(exc, context)
    if response is None:
        return uncaught_error_response(exc, context)
    if exc.get_codes() == "database_unavailable":
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = ", ".join(errors)
        response.data = {"detail": f"Invalid input: {fields}.", "code": "invalid", "errors": errors}
    elif isinstance(exc.detail, dict) and "detail" in exc.detail:
        # simplejwt's errors carry their own {"detail", "code", "messages"}: the sentence and its code.
        code = exc.detail.get("code")
        response.data = {"detail": str(exc.detail["detail"]), "code": str(code or _first_code(exc.get_codes()))}
    else:
        response.data = {"detail": str(exc.detail), "code": _first_code(exc.get_codes())}
    return response


def uncaught_error_response(exc: Exception, context: dict) -> Response | None:
    """A bug in a view: the JSON 500 that handler500 answers with DEBUG off, in every mode (with
    DEBUG on, Django would answer its technical page: a traceback). Reported as Django reports an
    uncaught error: got_request_exception (error trackers; the test client re-raises it) and an
    error line on django.request with the traceback. DEBUG_PROPAGATE_EXCEPTIONS still propagates."""
    if settings.DEBUG_PROPAGATE_EXCEPTIONS:
        return None
    request = context["request"]._request
    got_request_exception.send(sender=None, request=request)
    set_rollback()
    response = Response({"detail": "Internal server error.", "code": "server_error"}, status=500)
    log_response("%s: %s", "Internal Server Error", request.path, response=response, request=request, exception=exc)
    return response
