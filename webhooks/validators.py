from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def webhook_url_problem(url: str) -> str | None:
    """Why this server will not call url, or None: http or https, a host, no credentials (the
    secret signs the requests), and a host of VAS_WEBHOOK_ALLOWED_HOSTS when that is set."""
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
