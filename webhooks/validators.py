import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from vas_project.outbound import is_public_address


def webhook_url_problem(url: str) -> str | None:
    """Why this server will not call url, or None: http or https, a host, no credentials (the
    secret signs the requests), and a host of VAS_WEBHOOK_ALLOWED_HOSTS when that is set. Where
    the host leads is checked when a request is sent (address_problem)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "A webhook URL must start with http:// or https://."
    if not parts.hostname:
        return "A webhook URL needs a host."
    if parts.username is not None or parts.password is not None:
        return "Put no user or password in a webhook URL: its secret signs every request."
    allowed = settings.WEBHOOK_ALLOWED_HOSTS
    if allowed and parts.hostname not in allowed:
        return f"This server sends webhooks only to these hosts (VAS_WEBHOOK_ALLOWED_HOSTS): {', '.join(allowed)}."
    return None


def validate_webhook_url(value: str) -> None:
    if problem := webhook_url_problem(value):
        raise ValidationError(problem)


def address_problem(hostname: str) -> str | None:
    """Why this server will not connect to hostname, or None. A host named in
    VAS_WEBHOOK_ALLOWED_HOSTS may be anything; any other host must resolve to public addresses
    only: never this machine, a private network, link-local (cloud metadata) or reserved ones,
    which a webhook could otherwise probe, nor one that leads to such an address through a
    translator or a tunnel (NAT64, 6to4: outbound.is_public_address). Checked again on the
    address a request connects to (connection_problem), as a name may resolve elsewhere by then."""
    if hostname in settings.WEBHOOK_ALLOWED_HOSTS:
        return None
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return f"The webhook's host {hostname} does not resolve."
    for address in addresses:
        if problem := connection_problem(hostname, address):
            return problem
    return None


def connection_problem(hostname: str, address: str) -> str | None:
    """Why this server will not connect to address, which hostname resolved to, or None."""
    if hostname in settings.WEBHOOK_ALLOWED_HOSTS or is_public_address(address):
        return None
    return (
        f"The webhook's host resolves to a non-public address ({address}); name the host in "
        "VAS_WEBHOOK_ALLOWED_HOSTS to allow it."
    )
