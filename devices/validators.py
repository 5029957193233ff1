import ipaddress
import re
import unicodedata

from django.core.exceptions import ValidationError

from capture import addresses


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


# A host name: dot-separated labels of letters, digits, hyphens (and the underscores some local
# networks' names carry), each 1 to 63 characters, neither starting nor ending with a hyphen.
HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
ONVIF_HOST_INVALID = "The ONVIF host must be a host name or an IP address, without a scheme, port or path."


def _is_ip_address(value: str, *, version: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    # No IPv6 zone (fe80::1%eth0): a "%" means something else in the URLs the host is put in.
    return "%" not in value and (version is None or address.version == version)


def validate_onvif_host(value: str) -> None:
    """Where the camera's ONVIF service answers (capture.onvif builds http://<host>:<port>/ from
    it): a host name, an IPv4 address or an IPv6 address with or without its brackets, as
    capture.onvif and devices.selectors.device_onvif_host take it. Nothing else: no whitespace or
    line breaks, credentials, port, path or URL."""
    if value.startswith("[") and value.endswith("]"):
        valid = _is_ip_address(value[1:-1], version=6)
    elif _is_ip_address(value):
        valid = True
    else:
        labels = value.split(".")
        valid = (
            len(value) <= 253
            and all(HOST_LABEL.fullmatch(label) for label in labels)
            # All digits, it would be an IPv4 address, and is not a valid one.
            and not all(label.isdigit() for label in labels)
        )
    if not valid:
        raise ValidationError(ONVIF_HOST_INVALID, code="invalid")
