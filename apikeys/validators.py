"""Checks on what a key is made with: each names what is wrong, never an existing camera."""

import ipaddress
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from apikeys.models import SCOPES

# One sentence for a camera that does not exist and one the user may not see: a key's maker
# learns nothing of cameras they may not see.
DEVICE_NOT_GIVABLE = "Only cameras you may see can be given to a key."
GROUP_NOT_GIVABLE = "Only groups you are in can be given to a key."


def validate_scopes(scopes: list[str]) -> None:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError(f"Unknown scope {', '.join(unknown)}; the scopes are {', '.join(SCOPES)}.")
    if not scopes:
        raise ValidationError("Give the key at least one scope.")


def validate_networks(networks: list[str]) -> None:
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValidationError(f"{network!r} is not a network (such as 192.0.2.0/24 or 2001:db8::/32).") from None


def validate_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry must be in the future.")
