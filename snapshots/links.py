"""Signed, expiring links to snapshot images: they work without any header, so an <img> tag,
a page or a mail can hold them.

A link is its path (which names the snapshot and the image column), an optional width, an
expiry (Unix seconds) and a signature over them (vas_project/signing.py: Django's Signer, an
HMAC-SHA256). Links are signed with DJANGO_SECRET_KEY and accepted under it or any of
DJANGO_SECRET_KEY_FALLBACKS, so rotating the secret key keeps links working until the old key
leaves the fallbacks.

A link made for a user (the image links in an API answer, a share) also names, inside the
signed message, who made it (`by`), when (`iat`) and the snapshot's camera (`cam`), and holds
only while that user could still see the image:

- the user still exists, is active and has the permission to view snapshots;
- the user still sees the camera (devices.selectors.devices_visible: superusers, and everyone
  while VAS_CAMERAS_VISIBLE_TO_ALL is on, see every camera; others those of their groups);
- the link was issued at or after the user's "links valid from" moment (LinkRevocation), which
  POST /api/links/revoke moves to now (links_revoke).

Else it answers as a changed link: 403 `link_invalid`, the same body. What decides it is cached
GRANT_CACHE_S in Django's default cache, per user and per (user, camera), so that the signed
image route (and its 304s) reads no database; a revocation, a user saved or deleted, a change
of groups or permissions through the ORM drop it at once (snapshots/models.py), everything
else (a bulk update, another process's local-memory cache) takes effect within GRANT_CACHE_S.

A link made by the product itself (a webhook's payload, an export's file: exports/views.py
checks its job's owner) names no user and holds until it expires.
"""

import logging
import math
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from devices.selectors import devices_visible
from snapshots.models import LinkRevocation
from vas_project import signing
from vas_project.params import parse_whole_number
from vas_project.permissions import sees_every_camera

logger = logging.getLogger(__name__)

SALT = "vas.snapshots.signed-link"
# Expiries are rounded up to steps of a quarter of the lifetime (at most 15 min), so that the
# answers given within one step hand out the same link and a browser's cache keeps working.
MAX_EXPIRY_STEP_S = 900
COLUMNS = ("image", "thumbnail")
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
USER_ID = re.compile(r"[1-9][0-9]{0,17}")
DEVICE_HEX = re.compile(r"[0-9a-f]{32}")
# How long a user's access, as links see it, is cached: the longest a change that no signal
# announces (or one made in another process, with a cache per process) takes to stop a link.
GRANT_CACHE_S = 30
GRANT_KEY_PREFIX = "vas:link-grant"
EPOCH_KEY = f"{GRANT_KEY_PREFIX}:epoch"
# The one answer of a link that does not hold: changed, signed by a retired key, or its maker
# may no longer see the image; a reader of the answer cannot tell which.
INVALID_MESSAGE = "This link is not valid: it was changed, its key is retired, or it was revoked."


class LinkError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def link_refused() -> LinkError:
    return LinkError(INVALID_MESSAGE, code="link_invalid")


@dataclass(frozen=True)
class Maker:
    """Who made a link, when, and the camera of the snapshot it opens: signed into the link."""

    user_id: int
    issued: int
    device_id: uuid.UUID


@dataclass(frozen=True)
class SignedLink:
    width: int | None
    expires: int
    maker: Maker | None


def _message(path: str, width: int | None, expires: int, maker: Maker | None) -> str:
    message = f"{path}|{width or ''}|{expires}"
    if maker is None:
        return message
    return f"{message}|{maker.user_id}|{maker.issued}|{maker.device_id.hex}"


def _expiry_step(ttl_s: int) -> int:
    return max(1, min(ttl_s // 4, MAX_EXPIRY_STEP_S))


def link_expiry(*, ttl_s: int, now: float | None = None) -> int:
    """The expiry of a link that should live at least ttl_s seconds from now."""
    step = _expiry_step(ttl_s)
    return math.ceil(((now or time.time()) + ttl_s) / step) * step


def link_expiry_issue_time(*, expires: int, ttl_s: int) -> int:
    """An issue time for links of that rounded expiry: before now, the same all the step long
    (so is the link)."""
    return expires - ttl_s - _expiry_step(ttl_s)


def snapshot_image_path(*, snapshot_id: str, column: str) -> str:
    return reverse("signed-snapshot-image", kwargs={"snapshot_id": snapshot_id, "column": column})


def signed_query(*, path: str, expires: int, width: int | None = None, maker: Maker | None = None) -> str:
    """The query string that makes path a signed link (made by maker, if one)."""
    query: dict[str, object] = {"width": width} if width else {}
    query["exp"] = expires
    if maker is not None:
        query |= {"by": maker.user_id, "iat": maker.issued, "cam": maker.device_id.hex}
    query["sig"] = signing.signature(SALT, _message(path, width, expires, maker))
    return urlencode(query)


def _query_maker(query: Mapping[str, str]) -> Maker | None:
    raw = [query.get(name) for name in ("by", "iat", "cam")]
    if raw == [None, None, None]:
        return None
    by, iat, cam = (value or "" for value in raw)
    if not (USER_ID.fullmatch(by) and UNIX_SECONDS.fullmatch(iat) and DEVICE_HEX.fullmatch(cam)):
        raise LinkError("This link is not a whole signed link.", code="link_invalid")
    return Maker(user_id=int(by), issued=int(iat), device_id=uuid.UUID(hex=cam))


def link_check(*, path: str, query: Mapping[str, str], now: float | None = None) -> SignedLink:
    """The link, if it is signed by a key in the ring, not expired and, when made by a user,
    that user may still see the image (link_grant_check); else LinkError with code link_invalid
    or link_expired."""
    raw_expires = query.get("exp", "")
    expires = int(raw_expires) if UNIX_SECONDS.fullmatch(raw_expires) else None
    raw_width = query.get("width")
    width = parse_whole_number(raw_width) if raw_width is not None else None
    signature = query.get("sig", "")
    if expires is None or (raw_width is not None and not width) or not signature:
        raise LinkError("This link is not a whole signed link.", code="link_invalid")
    maker = _query_maker(query)
    if not signing.signature_matches(SALT, _message(path, width, expires, maker), signature):
        raise link_refused()
    if expires < (now or time.time()):
        raise LinkError("This link has expired; ask for a new one.", code="link_expired")
    if maker is not None:
        link_grant_check(user_id=maker.user_id, device_id=maker.device_id, issued=maker.issued)
    return SignedLink(width=width, expires=expires, maker=maker)


# What a user may do, as links see it, cached. Each entry holds the epoch it was worked out in;
# a change of groups or permissions moves the epoch, so every entry of an older one is stale.


@dataclass(frozen=True)
class _UserGrant:
    epoch: str
    visible_to_all: bool  # VAS_CAMERAS_VISIBLE_TO_ALL when worked out
    usable: bool  # exists, is active and may view snapshots
    sees_every_camera: bool
    valid_from: float  # LinkRevocation.links_valid_from in Unix seconds; 0: never revoked


def _user_key(user_id: int) -> str:
    return f"{GRANT_KEY_PREFIX}:{user_id}"


def _device_key(user_id: int, device_id: uuid.UUID) -> str:
    return f"{GRANT_KEY_PREFIX}:{user_id}:{device_id.hex}"


def _cache_call(method: str, *args: Any, **kwargs: Any) -> Any:
    """A call on the cache; one that fails (a Redis down or hanging) is worked out from the
    database instead: never a link let through."""
    try:
        return getattr(cache, method)(*args, **kwargs)
    except Exception as exc:
        logger.warning("signed links' grant cache failed on %s (%s)", method, type(exc).__name__)
        return None


def _epoch(found: dict[str, Any]) -> str:
    epoch = found.get(EPOCH_KEY)
    if isinstance(epoch, str):
        return epoch
    fresh = secrets.token_hex(8)
    if _cache_call("add", EPOCH_KEY, fresh, timeout=None):
        return fresh
    return _cache_call("get", EPOCH_KEY) or fresh


def _user_grant(user_id: int, epoch: str) -> _UserGrant:
    user = User.objects.select_related("link_revocation").filter(pk=user_id).first()
    valid_from = 0.0
    if user is None:
        usable, sees_all = False, False
    else:
        usable = user.is_active and user.has_perm("snapshots.view_snapshot")
        sees_all = sees_every_camera(user=user)
        try:
            valid_from = user.link_revocation.links_valid_from.timestamp()
        except LinkRevocation.DoesNotExist:
            pass
    return _UserGrant(
        epoch=epoch,
        visible_to_all=settings.CAMERAS_VISIBLE_TO_ALL,
        usable=usable,
        sees_every_camera=sees_all,
        valid_from=valid_from,
    )


def link_grant_check(*, user_id: int, device_id: uuid.UUID, issued: float) -> None:
    """Nothing when the user may still see that camera's snapshots and their links issued at
    `issued` are not revoked; else LinkError link_invalid. One cache read when it is cached,
    else one to four small queries, cached GRANT_CACHE_S."""
    user_key, device_key = _user_key(user_id), _device_key(user_id, device_id)
    found = _cache_call("get_many", [EPOCH_KEY, user_key, device_key]) or {}
    epoch = _epoch(found)
    grant = found.get(user_key)
    if (
        not isinstance(grant, _UserGrant)
        or grant.epoch != epoch
        or grant.visible_to_all != settings.CAMERAS_VISIBLE_TO_ALL
    ):
        grant = _user_grant(user_id, epoch)
        _cache_call("set", user_key, grant, timeout=GRANT_CACHE_S)
    if not grant.usable or issued < grant.valid_from:
        raise link_refused()
    if grant.sees_every_camera:
        return
    seen = found.get(device_key)
    if isinstance(seen, tuple) and seen[0] == epoch:
        visible = bool(seen[1])
    else:
        # devices_visible's rule for a user who does not see every camera (the grant says so):
        # that user's groups, by id alone.
        member = User(pk=user_id, is_superuser=False, is_active=True)
        visible = devices_visible(user=member).filter(pk=device_id).exists()
        _cache_call("set", device_key, (epoch, visible), timeout=GRANT_CACHE_S)
    if not visible:
        raise link_refused()


def link_grant_forget(*, user_id: int) -> None:
    """The user's cached grant is stale (saved, deleted, revoked): worked out again on the next
    link, now and once the transaction commits (so no link reads the row as it was before)."""
    key = _user_key(user_id)
    _cache_call("delete", key)
    transaction.on_commit(lambda: _cache_call("delete", key))


def link_grants_changed() -> None:
    """Groups or permissions changed: every cached grant is stale."""

    def bump() -> None:
        _cache_call("set", EPOCH_KEY, secrets.token_hex(8), timeout=None)

    bump()
    transaction.on_commit(bump)


def links_valid_from(*, user_id: int) -> float:
    """The user's "links valid from" moment in Unix seconds (0: never revoked): from the cached
    grant when there is one (a stale one is older, so a new link may be refused, never an old
    one let through), else from the database, not cached."""
    grant = _cache_call("get", _user_key(user_id))
    if isinstance(grant, _UserGrant):
        return grant.valid_from
    moment = LinkRevocation.objects.filter(user_id=user_id).values_list("links_valid_from", flat=True).first()
    return moment.timestamp() if moment is not None else 0


def link_issuer(*, user: object, natural_issue: int) -> tuple[int, int] | None:
    """Who makes a link for this user, and when, as a Maker holds them (None: no user, a link
    of the product's own): issued at natural_issue (a whole second not after now), or at the
    user's "links valid from" moment (rounded up) if that is later, so a link made after a
    revocation holds."""
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    if not isinstance(user_id, int):
        return None
    return user_id, max(natural_issue, math.ceil(links_valid_from(user_id=user_id)))


def links_revoke(*, user_id: int, now: datetime | None = None) -> datetime:
    """Every link the user made until now stops working; the ones made after work. Returns the
    new "links valid from" moment: now, or just after the second the links made since the last
    revocation were issued in (link_issuer rounds it up), if that is later, so a second
    revocation within that second refuses them too."""
    moment = now or timezone.now()
    with transaction.atomic():
        row, created = LinkRevocation.objects.select_for_update().get_or_create(
            user_id=user_id, defaults={"links_valid_from": moment}
        )
        if not created:
            issued_since = datetime.fromtimestamp(math.ceil(row.links_valid_from.timestamp()), UTC)
            row.links_valid_from = max(moment, issued_since + timedelta(microseconds=1))
            row.save(update_fields=["links_valid_from"])
    link_grant_forget(user_id=user_id)
    return row.links_valid_from
