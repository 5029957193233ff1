"""Signed, expiring links to snapshot images: they work without any header, so an <img> tag,
a page or a mail can hold them.

A link is its path (which names the snapshot and the image column), an optional width, an
expiry (Unix seconds) and a signature over the three (vas_project/signing.py: Django's
Signer, an HMAC-SHA256). Links are signed with DJANGO_SECRET_KEY and accepted under it or any
of DJANGO_SECRET_KEY_FALLBACKS, so rotating the secret key keeps links working until the old
key leaves the fallbacks.
"""

import math
import re
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from django.urls import reverse

from vas_project import signing
from vas_project.params import parse_whole_number

SALT = "vas.snapshots.signed-link"
# Expiries are rounded up to steps of a quarter of the lifetime (at most 15 min), so that the
# answers given within one step hand out the same link and a browser's cache keeps working.
MAX_EXPIRY_STEP_S = 900
COLUMNS = ("image", "thumbnail")
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class LinkError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def _message(path: str, width: int | None, expires: int) -> str:
    return f"{path}|{width or ''}|{expires}"


def link_expiry(*, ttl_s: int, now: float | None = None) -> int:
    """The expiry of a link that should live at least ttl_s seconds from now."""
    step = max(1, min(ttl_s // 4, MAX_EXPIRY_STEP_S))
    return math.ceil(((now or time.time()) + ttl_s) / step) * step


def snapshot_image_path(*, snapshot_id: str, column: str) -> str:
    return reverse("signed-snapshot-image", kwargs={"snapshot_id": snapshot_id, "column": column})


def signed_query(*, path: str, expires: int, width: int | None = None) -> str:
    """The query string that makes path a signed link."""
    query: dict[str, object] = {"width": width} if width else {}
    query |= {"exp": expires, "sig": signing.signature(SALT, _message(path, width, expires))}
    return urlencode(query)


def link_check(*, path: str, query: Mapping[str, str], now: float | None = None) -> int | None:
    """The width the link asks for (None: full size), if the link is signed by a key in the ring
    and not expired; else LinkError with code link_invalid or link_expired."""
    raw_expires = query.get("exp", "")
    expires = int(raw_expires) if UNIX_SECONDS.fullmatch(raw_expires) else None
    raw_width = query.get("width")
    width = parse_whole_number(raw_width) if raw_width is not None else None
    signature = query.get("sig", "")
    if expires is None or (raw_width is not None and not width) or not signature:
        raise LinkError("This link is not a whole signed link.", code="link_invalid")
    if not signing.signature_matches(SALT, _message(path, width, expires), signature):
        message = "This link's signature does not match: it was changed, or its key is retired."
        raise LinkError(message, code="link_invalid")
    if expires < (now or time.time()):
        raise LinkError("This link has expired; ask for a new one.", code="link_expired")
    return width
