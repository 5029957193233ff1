"""/metrics for Prometheus and /status/ for staff."""

import hmac
import ipaddress
import os

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from rest_framework.throttling import BaseThrottle

from monitoring.collectors import ProductCollector
from monitoring.selectors import cameras_status, components_status

_product = CollectorRegistry(auto_describe=False)
_product.register(ProductCollector())


def _may_scrape(request: HttpRequest) -> bool:
    if settings.METRICS_TOKEN:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if hmac.compare_digest(given.encode(), settings.METRICS_TOKEN.encode()):
            return True
    # The client as the rate limits see it: behind VAS_TRUSTED_PROXIES proxies, the address they
    # name in X-Forwarded-For, not the proxy's own (which is often this machine).
    try:
        client = ipaddress.ip_address(BaseThrottle().get_ident(request))  # type: ignore[arg-type]
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(allowed, strict=False) for allowed in settings.METRICS_ALLOWED_IPS)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The counts of every process on this machine (added up from PROMETHEUS_MULTIPROC_DIR when
    it is set, else this process's), then the figures read from the database and the live store."""
    if not settings.METRICS_ENABLED:
        raise Http404
    if not _may_scrape(request):
        return HttpResponse(
            "Not allowed: scrape from an address of VAS_METRICS_ALLOWED_IPS or send the VAS_METRICS_TOKEN.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return HttpResponse(generate_latest(counted) + generate_latest(_product), content_type=CONTENT_TYPE_LATEST)


@staff_member_required(login_url="login")
def status_page(request: HttpRequest) -> HttpResponse:
    """Every camera the staff member may see, worst first, and the background processes."""
    return render(
        request,
        "monitoring/status.html",
        {"cameras": cameras_status(user=request.user), "components": components_status()},
    )
