"""Reads on API keys: whose keys a user sees, the key a request presents, and its cameras."""

import ipaddress

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from apikeys.models import ApiKey
from vas_project.permissions import CameraLimit, sees_every_camera


def api_keys_visible(*, user: User | AnonymousUser) -> QuerySet[ApiKey]:
    """A user's own keys; every key for staff who see every camera."""
    keys = ApiKey.objects.select_related("user").order_by("-created")
    if user.is_staff and sees_every_camera(user=user):
        return keys
    if not user.is_authenticated:
        return keys.none()
    return keys.filter(user=user)


def api_key_found(*, key: str) -> ApiKey | None:
    """The key this secret is (revoked and expired ones too, to say so), None when it is none:
    looked up by its prefix, then its SHA-512 compared in constant time (the library's check)."""
    prefix, dot, _ = key.partition(".")
    if not dot or not prefix:
        return None
    found = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if found is None or not ApiKey.objects.key_generator.verify(key, found.hashed_key):
        return None
    return found


def api_key_camera_limit(*, api_key: ApiKey) -> CameraLimit | None:
    """The cameras the key narrows its user to; None when it was given no camera and no group."""
    device_ids = frozenset(
        api_key.devices.through.objects.filter(apikey_id=api_key.pk).values_list("device_id", flat=True)
    )
    group_ids = frozenset(
        api_key.groups.through.objects.filter(apikey_id=api_key.pk).values_list("group_id", flat=True)
    )
    if not device_ids and not group_ids:
        return None
    return CameraLimit(device_ids=device_ids, group_ids=group_ids)


def api_key_admits(*, api_key: ApiKey, address: str) -> bool:
    """Whether the key is accepted from this client address: any, when it names no network."""
    if not api_key.allowed_ips:
        return True
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(network, strict=False) for network in api_key.allowed_ips)
