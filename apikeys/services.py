"""Writes on API keys: making one (the only time its secret is seen), revoking, noting a use."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apikeys.models import ApiKey
from devices.models import Device

# last_used_at is written at most this often per key, whatever the traffic.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def api_key_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    devices: Iterable[Device] = (),
    groups: Iterable[Group] = (),
    expires_at: datetime | None = None,
    allowed_ips: Iterable[str] = (),
) -> tuple[ApiKey, str]:
    """A new key of this user's, and its secret: stored only as a hash, so shown this once.
    The caller has checked that the cameras and groups are the user's to give."""
    api_key = ApiKey(
        user=user,
        name=name,
        scopes=sorted(set(scopes)),
        expiry_date=expires_at,
        allowed_ips=list(allowed_ips),
    )
    secret = ApiKey.objects.assign_key(api_key)
    api_key.save()
    api_key.devices.set(devices)
    api_key.groups.set(groups)
    return api_key, secret


def api_key_revoke(*, api_key: ApiKey) -> None:
    """The key stops working at once in every process: each request reads its row."""
    ApiKey.objects.filter(pk=api_key.pk).update(revoked=True)
    api_key.revoked = True


def api_key_used(*, api_key: ApiKey, now: datetime | None = None) -> None:
    """Note the key's use, at most once a minute: the condition in the UPDATE keeps it so
    across processes, and a key used within the minute costs no write."""
    now = now or timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    if ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now):
        api_key.last_used_at = now
