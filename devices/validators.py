import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

RTSP_SCHEMES = ("rtsp", "rtsps")


def validate_rtsp_url(value: str) -> None:
    """Accept only rtsp(s)://host[:port]/path without credentials or whitespace."""
    if not value or value != value.strip() or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValidationError("The RTSP URL must not contain whitespace or control characters.", code="invalid")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError("The RTSP URL is malformed.", code="invalid") from None
    if parts.scheme.lower() not in RTSP_SCHEMES:
        raise ValidationError("The URL must start with rtsp:// or rtsps://.", code="invalid_scheme")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Put camera credentials in the username and password fields, not in the URL.",
            code="credentials_in_url",
        )
    if not parts.hostname:
        raise ValidationError("The RTSP URL must name a host.", code="missing_host")
    if port == 0:
        raise ValidationError("The RTSP URL has an invalid port.", code="invalid")


def validate_name(value: str) -> None:
    """A camera's name is shown in pages, logs and terminal output: no control or format
    characters (newlines, escape codes, right-to-left overrides) that could forge any of them."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationError("The name must not contain control characters.", code="control_characters")
