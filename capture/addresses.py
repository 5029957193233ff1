"""Camera URLs: which ones capture/ accepts, and where one sends its credentials."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

RTSP_SCHEMES = ("rtsp", "rtsps")
SNAPSHOT_URL_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}


def validate_camera_url(value: str, *, schemes: tuple[str, ...], label: str) -> None:
    """Accept only <scheme>://host[:port]/path without credentials or whitespace."""
    if not value or value != value.strip() or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValidationError(f"The {label} must not contain whitespace or control characters.", code="invalid")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(f"The {label} is malformed.", code="invalid") from None
    if parts.scheme.lower() not in schemes:
        starts = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ValidationError(f"The URL must start with {starts}.", code="invalid_scheme")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Put camera credentials in the username and password fields, not in the URL.",
            code="credentials_in_url",
        )
    if not parts.hostname:
        raise ValidationError(f"The {label} must name a host.", code="missing_host")
    if port == 0:
        raise ValidationError(f"The {label} has an invalid port.", code="invalid")


def validate_rtsp_url(value: str) -> None:
    validate_camera_url(value, schemes=RTSP_SCHEMES, label="RTSP URL")


def url_endpoint(url: str) -> tuple[str, str, int | None]:
    """Where a camera URL sends its credentials: scheme, host and port (the scheme's default
    when none is written)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return "", url, None
