"""Links in answers: absolute with the request's origin, and without a request (a job's
result, a webhook's payload) with VAS_PUBLIC_URL, or left as paths when that is unset."""

from django.conf import settings
from django.http import HttpRequest


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    return request.build_absolute_uri(path) if request is not None else f"{settings.PUBLIC_URL}{path}"
