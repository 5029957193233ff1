"""A snapshot as the API shows it, as a plain dict: for the API's answers (SnapshotSerializer)
and for webhook payloads alike."""

import uuid
from datetime import datetime, tzinfo
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from snapshots import links
from snapshots.models import Snapshot
from snapshots.selectors import SNAPSHOT_FIELDS
from vas_project.public_urls import absolute_url

URL_NAMES = {
    "self": "snapshot-detail",
    "image": "snapshot-image-jpg",
    "image_data": "snapshot-image",
    "thumbnail": "snapshot-thumbnail-jpg",
}
URL_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"
# Signed, expiring links to the image and the thumbnail (snapshots/links.py): for <img> tags,
# pages and mails, no header needed. They live VAS_SIGNED_LINK_TTL_S, and name the user the
# answer is for: they hold while that user may see the image.
SIGNED_URL_NAMES = {f"signed_{column}": column for column in links.COLUMNS}


class SnapshotDicts:
    """Snapshots as dicts, for one answer: what is the same for every row (URL templates, the
    origin, the links' expiry, the time zone) is worked out once, not once per row: a page of
    100 rows spent half its time in reverse() and build_absolute_uri(). snapshot is a Snapshot
    or a listing row (selectors.snapshot_list_queryset) with the same attributes."""

    def __init__(self, *, request: HttpRequest | None = None, device_names: dict[uuid.UUID, str] | None = None):
        self.request = request
        # Listings pass their cameras' names (selectors.device_names); a Snapshot has its device.
        self.device_names = device_names

    def as_dict(self, snapshot: Snapshot) -> dict[str, object]:
        answer = {name: self._value(snapshot, name) for name in SNAPSHOT_FIELDS}
        answer["urls"] = self.urls(snapshot)
        return answer

    def urls(self, snapshot: Snapshot) -> dict[str, str]:
        pk = str(snapshot.id)
        urls = {name: template.replace(URL_PLACEHOLDER_ID, pk) for name, template in self._url_templates.items()}
        maker = self._maker(snapshot.device_id)
        for name, path_template in self._signed_path_templates.items():
            path = path_template.replace(URL_PLACEHOLDER_ID, pk)
            query = links.signed_query(path=path, expires=self._link_expiry, maker=maker)
            urls[name] = f"{self._origin}{path}?{query}"
        return urls

    def _maker(self, device_id: uuid.UUID) -> links.Maker | None:
        issuer = self._issuer
        if issuer is None:
            return None
        return links.Maker(user_id=issuer[0], issued=issuer[1], device_id=device_id)

    def _value(self, snapshot: Snapshot, name: str) -> object:
        if name == "device":
            return {"id": str(snapshot.device_id), "name": self._device_name(snapshot)}
        value = getattr(snapshot, name)
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, datetime):
            return self._iso_time(value)
        return value

    def _device_name(self, snapshot: Snapshot) -> str:
        # A camera deleted between a listing's two queries has no name left, not a 500.
        if self.device_names is not None:
            return self.device_names.get(snapshot.device_id, "")
        return snapshot.device.name

    def _iso_time(self, value: datetime) -> str:
        # DRF's DateTimeField output (current time zone, "Z" for UTC) without its per-row time
        # zone lookups.
        text = value.astimezone(self._time_zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    @cached_property
    def _time_zone(self) -> tzinfo:
        return timezone.get_current_timezone()

    @cached_property
    def _signed_path_templates(self) -> dict[str, str]:
        return {
            name: links.snapshot_image_path(snapshot_id=URL_PLACEHOLDER_ID, column=column)
            for name, column in SIGNED_URL_NAMES.items()
        }

    @cached_property
    def _origin(self) -> str:
        return absolute_url("/", self.request)[:-1]

    @cached_property
    def _link_expiry(self) -> int:
        return links.link_expiry(ttl_s=settings.SIGNED_LINK_TTL_S)

    @cached_property
    def _issuer(self) -> tuple[int, int] | None:
        """Who the links are made by (the request's user; None: the product's own, as in a
        webhook's payload) and their issue time: the same all the expiry step long, so the
        answers of one step hand out the same links, unless the user revoked their links since."""
        natural = links.link_expiry_issue_time(expires=self._link_expiry, ttl_s=settings.SIGNED_LINK_TTL_S)
        return links.link_issuer(user=getattr(self.request, "user", None), natural_issue=natural)

    @cached_property
    def _url_templates(self) -> dict[str, str]:
        return {
            name: f"{self._origin}{reverse(url_name, args=[URL_PLACEHOLDER_ID])}"
            for name, url_name in URL_NAMES.items()
        }


def snapshot_as_dict(snapshot: Snapshot, *, request: HttpRequest | None = None) -> dict[str, object]:
    return SnapshotDicts(request=request).as_dict(snapshot)
