import unicodedata

from django.core.exceptions import ValidationError

from capture import addresses
from capture.addresses import url_endpoint


def validate_rtsp_url(value: str) -> None:
    # Defined here, by this name: the model's migrations name it.
    addresses.validate_rtsp_url(value)


def validate_snapshot_url(value: str) -> None:
    """The camera's own still-image URL (ISAPI, CGI, ONVIF's snapshot URI)."""
    addresses.validate_camera_url(value, schemes=addresses.SNAPSHOT_URL_SCHEMES, label="snapshot URL")


def validate_name(value: str) -> None:
    """A camera's name is shown in pages, logs and terminal output: no control or format
    characters (newlines, escape codes, right-to-left overrides) that could forge any of them."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationError("The name must not contain control characters.", code="control_characters")


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
