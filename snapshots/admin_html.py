"""Small pieces of admin HTML shared by the device and snapshot admins."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString


def thumbnail_img(snapshot_id: object, *, alt: str, width_px: int = 160) -> SafeString:
    """An <img> that loads the stored thumbnail from its own route, lazily: no base64 in the page."""
    src = reverse("snapshot-thumbnail-jpg", args=[snapshot_id])
    return format_html('<img src="{}" alt="{}" width="{}" loading="lazy" class="vas-thumbnail">', src, alt, width_px)
