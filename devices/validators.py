import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

RTSP_SCHEMES = ("rtsp", "rtsps")
SNAPSHOT_URL_SCHEMES = ("http", "https")


def _validate_camera_url(value: str, *, schemes: tuple[str, ...], label: str) -> None:
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
    _validate_camera_url(value, schemes=RTSP_SCHEMES, label="RTSP URL")


def validate_snapshot_url(value: str) -> None:
    """The camera's own still-image URL (ISAPI, CGI, ONVIF's snapshot URI)."""
    _validate_camera_url(value, schemes=SNAPSHOT_URL_SCHEMES, label="snapshot URL")


def validate_name(value: str) -> None:
    """A camera's name is shown in pages, logs and terminal output: no control or format
    characters (newlines, escape codes, right-to-left overrides) that could forge any of them."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationError("The name must not contain control characters.", code="control_characters")


DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}


def url_endpoint(url: str) -> tuple[str, str, int | None]:
    """Where a camera URL sends its credentials: scheme, host and port (the scheme's default
    when none is written)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return "", url, None


def password_survives_url_change(old_url: str, new_url: str) -> bool:
    """A stored password goes on to a new URL only at the same endpoint: repointed to another
    host or port, or from rtsps down to rtsp, it would be sent to whoever is there."""
    return url_endpoint(old_url) == url_endpoint(new_url)


def password_survives_urls_change(*, old_rtsp: str, new_rtsp: str, old_snapshot: str, new_snapshot: str) -> bool:
    """The same rule over both URLs the password goes to: the RTSP URL at the same endpoint,
    and a snapshot URL (if any) at its old endpoint or, newly set, on the RTSP URL's host."""
    if not password_survives_url_change(old_rtsp, new_rtsp):
        return False
    if not new_snapshot or url_endpoint(new_snapshot) == url_endpoint(old_snapshot):
        return True
    return not old_snapshot and url_endpoint(new_snapshot)[1] == url_endpoint(new_rtsp)[1]
