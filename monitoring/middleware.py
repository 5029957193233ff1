import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from vas_project import metrics


class RequestMetricsMiddleware:
    """Each answer's duration in vas_http_request_duration_seconds, by the route's name (so the
    labels stay few whatever the URLs), method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = (match.url_name or match.view_name) if match is not None else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        metrics.HTTP_SECONDS.labels(route=route, method=method, status=str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
