"""Writes on devices: a camera created or edited (the API, the admin and ONVIF discovery all
through device_create and device_update), what a capture's outcome says about the camera (and
the device.online and device.offline events), the scheduler's claim, password re-encryption,
the storage totals. Nothing here writes snapshots."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from capture import onvif
from capture.addresses import url_endpoint
from devices.models import ONVIF_TOKEN_MAX_LENGTH, Device, DeviceStorage
from devices.mqtt import device_discovery_publish, device_mqtt_remove, device_status_publish
from devices.selectors import (
    Storage,
    Viewer,
    device_capture_interval_s,
    device_onvif_host,
    device_storage_counted,
    groups_assignable,
)
from devices.validators import validate_rtsp_url, validate_snapshot_url
from vas_project.fields import UnreadableSecret
from vas_project.permissions import sees_every_camera
from vas_project.public_urls import absolute_url
from webhooks.models import Event
from webhooks.services import webhook_event

LAST_ERROR_MAX_CHARS = Device._meta.get_field("last_error").max_length or 300


def _device_update(device: Device, **fields: object) -> None:
    # An UPDATE of these columns only, so a concurrent edit of the device is not overwritten.
    Device.objects.filter(pk=device.pk).update(**fields)
    for name, value in fields.items():
        setattr(device, name, value)


def _device_set_status(device: Device, status: str, **fields: object) -> bool:
    """Write status with the other fields; True when the camera was in another status (it
    came online, or went offline). One UPDATE when the status does not change, as on almost
    every capture; the second UPDATE only runs on a change, and only one writer wins it."""
    changed = False
    if not Device.objects.filter(pk=device.pk, status=status).update(**fields):
        changed = Device.objects.filter(pk=device.pk).exclude(status=status).update(status=status, **fields) == 1
        if not changed:  # another writer changed it between the two: the fields are still ours to write
            Device.objects.filter(pk=device.pk).update(**fields)
    for name, value in {"status": status, **fields}.items():
        setattr(device, name, value)
    return changed


def _device_event(device: Device) -> dict[str, object]:
    return {
        "device": {
            "id": str(device.pk),
            "name": device.name,
            "status": device.status,
            "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
            "last_error": device.last_error,
            "url": absolute_url(reverse("device-detail", args=[device.pk])),
        }
    }


def device_record_capture_success(*, device: Device) -> None:
    """The camera answered: online, seen now (the device.online event if it was not)."""
    if _device_set_status(device, Device.Status.ONLINE, last_seen_at=timezone.now()):
        webhook_event(event=Event.DEVICE_ONLINE, data=lambda: _device_event(device))
        device_status_publish(device=device)


def _device_never_seen_becomes_offline(device: Device, **fields: object) -> bool:
    """A camera still unknown (never seen working) whose capture fails, for whatever reason, is
    offline with the reason: it is known not to work. One UPDATE, which only one writer wins."""
    if not Device.objects.filter(pk=device.pk, status=Device.Status.UNKNOWN).update(
        status=Device.Status.OFFLINE, **fields
    ):
        return False
    for name, value in {"status": Device.Status.OFFLINE, **fields}.items():
        setattr(device, name, value)
    return True


def device_record_capture_failure(
    *, device: Device, code: str, message: str, offline: bool, conclusive: bool = True
) -> None:
    """Keep the failure on the camera; a camera that cannot be reached at all, or that was never
    seen working and failed conclusively (not a grab cut short by something else), is offline
    (the device.offline event if it was not)."""
    fields: dict[str, object] = {
        "last_error": f"{code}: {message}"[:LAST_ERROR_MAX_CHARS],
        "last_error_at": timezone.now(),
    }
    if offline:
        went_offline = _device_set_status(device, Device.Status.OFFLINE, **fields)
    else:
        went_offline = conclusive and _device_never_seen_becomes_offline(device, **fields)
        if not went_offline:
            _device_update(device, **fields)
    if went_offline:
        webhook_event(event=Event.DEVICE_OFFLINE, data=lambda: _device_event(device))
        device_status_publish(device=device)


def device_storage_add(*, device_id: uuid.UUID, size: int, snapshots: int) -> None:
    """Add size image bytes and that many snapshots to the camera's storage totals (take away,
    with negative figures). Call it in the transaction that wrote the snapshots, after writing
    them: the totals row stays locked until that commits, which is what keeps a concurrent
    recount exact. A camera without totals yet is counted afresh, which includes what the
    caller just wrote."""
    added = DeviceStorage.objects.filter(device_id=device_id).update(
        bytes=F("bytes") + size, snapshots=F("snapshots") + snapshots
    )
    if not added:
        device_storage_recount(device_id=device_id)


def device_storage_recount(*, device_id: uuid.UUID) -> Storage:
    """Set the camera's storage totals to what its snapshots sum to (the prune's correction for
    any write that did not go through the services). The totals row is locked before counting, so
    a capture or delete that commits meanwhile is either seen by the count or adds after it."""
    with transaction.atomic():
        totals, _ = DeviceStorage.objects.select_for_update().get_or_create(device_id=device_id)
        counted = device_storage_counted(device_id=device_id)
        totals.bytes, totals.snapshots = counted.bytes, counted.snapshots
        totals.save(update_fields=["bytes", "snapshots"])
    return counted


def device_give_creator_groups(*, device: Device, user: Viewer) -> None:
    """A camera created without groups by a user who sees only their groups' cameras joins
    that user's groups, so that it does not vanish from its creator's sight at once."""
    if sees_every_camera(user=user) or user is None or not user.is_authenticated or device.groups.exists():
        return
    device.groups.set(user.groups.all())


# One message for a group the user is not in and for one that does not exist, naming neither:
# group ids cannot be told apart by trying them. The API's groups field says the same.
GROUP_NOT_ASSIGNABLE = "No group with this id among the groups you belong to."


def device_groups_check(*, user: Viewer, groups: Iterable[Any], device: Device | None = None) -> None:
    """Refuse (ValidationError on "groups", code does_not_exist) a group the user may not give
    the camera: any group that does not exist, and for users but superusers (and the product
    itself, None) any group they are not in, unless the camera (device, when editing) is in it
    already: a group may stay, or be taken off. groups: Group objects or ids. device_create and
    device_update call it; a form may call it to show the error on its field."""
    wanted = set()
    for group in groups:
        try:
            wanted.add(Group._meta.pk.to_python(group.pk if isinstance(group, Group) else group))
        except ValidationError:
            wanted.add(None)  # not an id at all: refused as one that does not exist
    if not wanted:
        return
    assignable = groups_assignable(user=user, device=device).filter(pk__in=[pk for pk in wanted if pk is not None])
    if set(assignable.values_list("pk", flat=True)) != wanted:
        raise ValidationError({"groups": ValidationError(GROUP_NOT_ASSIGNABLE, code="does_not_exist")})


def _device_check(
    device: Device, *, exclude: list[str] | None, user: Viewer, groups: Iterable[Any] | None, editing: bool
) -> None:
    # full_clean and the groups' rule, their errors together in one ValidationError.
    errors: dict[str, list[ValidationError]] = {}
    try:
        device.full_clean(exclude=exclude)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if groups is not None:
        try:
            device_groups_check(user=user, groups=groups, device=device if editing else None)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def device_create(*, user: Viewer, **fields: Any) -> Device:
    """A new camera from the model's fields (and groups), checked whole by full_clean, the rules
    of Device.clean() included, and its groups by device_groups_check (ValidationError), then
    saved. A password None or empty: none. Created without groups, it joins those of a creator
    who sees only their groups' cameras."""
    groups = fields.pop("groups", None)
    device = Device(**{**fields, "password": fields.get("password") or ""})
    groups = list(groups) if groups is not None else None
    _device_check(device, exclude=None, user=user, groups=groups, editing=False)
    with transaction.atomic():
        device.save()
        if groups:
            device.groups.set(groups)
        device_give_creator_groups(device=device, user=user)
        device_discovery_publish(device=device)
    return device


def device_delete(*, device: Device) -> None:
    """Delete the camera (its snapshots with it); on MQTT, its discovery configs and retained
    messages are emptied once that commits."""
    with transaction.atomic():
        device_mqtt_remove(device=device)
        device.delete()


# The password's rule. A stored password is sent to three endpoints (scheme, host, port): the
# RTSP URL's, the snapshot URL's (if any) and the ONVIF address's (onvif_host, or the RTSP URL's
# host, with onvif_port; capture.onvif speaks http), which gets a WS-Security digest of it on
# every discovery and keyframe request: a hash that can be cracked offline. The password is kept
# only while every endpoint it goes to is one it was entered with. The stored camera's are: each
# change that sends it anywhere else clears it (unless the same change sets it again), so a
# stored password's endpoints are always ones it was entered with, and no column records them.
Endpoint = tuple[str, str, object]
ENDPOINT_FIELDS = ("rtsp_url", "snapshot_url", "onvif_host", "onvif_port")


def _onvif_address(values: Mapping[str, Any]) -> Endpoint:
    # As devices.selectors.device_onvif_host and capture.onvif take it: an IPv6 address with or
    # without its brackets, host names in any case.
    host = str(values["onvif_host"] or "").strip("[]").lower() or url_endpoint(values["rtsp_url"])[1]
    try:
        port: object = Device._meta.get_field("onvif_port").to_python(values["onvif_port"])
    except ValidationError:
        port = values["onvif_port"]  # refused by full_clean; as it is, it matches nothing stored
    return ("http", host, port)


def _password_endpoints(values: Mapping[str, Any]) -> frozenset[Endpoint]:
    """Where a camera with these values sends its password."""
    endpoints = {url_endpoint(values["rtsp_url"]), _onvif_address(values)}
    if values["snapshot_url"]:
        endpoints.add(url_endpoint(values["snapshot_url"]))
    return frozenset(endpoints)


def _password_stays(*, device: Device, fields: Mapping[str, Any], offered: frozenset[Endpoint]) -> bool:
    """Whether the stored password may go on to the endpoints of the camera once fields are set:
    each one of those it was entered with, or offered (by the ONVIF service at the address it
    was entered with: device_apply_profile). Those it was entered with are the camera's, as the
    object says and as stored, both: the object may hold values a caller set and never saved, or
    the row may have moved since it was read; only what both hold counts."""
    entered = _password_endpoints({name: getattr(device, name) for name in ENDPOINT_FIELDS})
    stored = Device.objects.filter(pk=device.pk).values(*ENDPOINT_FIELDS).first()
    if stored is not None:
        entered &= _password_endpoints(stored)
    if offered and _onvif_address({name: getattr(device, name) for name in ENDPOINT_FIELDS}) not in entered:
        offered = frozenset()  # an ONVIF address the password was not entered with vouches for nothing
    after = _password_endpoints({name: fields.get(name, getattr(device, name)) for name in ENDPOINT_FIELDS})
    return after <= entered | offered


def device_update(*, device: Device, user: Viewer = None, **fields: Any) -> Device:
    """Set the given fields (and groups) of a camera, check them by full_clean with the rules of
    Device.clean() over the whole camera, and the groups by device_groups_check for user (who
    makes the change; None: the product itself, which may give any group), and save it
    (ValidationError: nothing saved, the device object left as it was). device: as stored, read
    for this change.

    The password, one rule for the API, the admin and discovery: left out or empty keeps the
    stored one only while every endpoint it is sent to (the RTSP URL's, the snapshot URL's, the
    ONVIF address's: scheme, host, port) is one it was entered with; a change of any of them
    removes it, as it would be sent to whoever is there. None removes it; any other value
    replaces it (an UnreadableSecret given back is kept as it was stored).

    The fields not given are not validated again, as a ModelForm validates only its own: a
    camera stored before a rule on one field (its name, say) may still be edited in another."""
    return _device_write(device=device, user=user, fields=fields, offered=frozenset())


def _device_write(*, device: Device, user: Viewer, fields: dict[str, Any], offered: frozenset[Endpoint]) -> Device:
    groups = fields.pop("groups", None)
    groups = list(groups) if groups is not None else None
    password = fields.pop("password", "")
    if password is None:
        fields["password"] = ""
    elif password or isinstance(password, UnreadableSecret):
        fields["password"] = password
    elif device.has_password and not _password_stays(device=device, fields=fields, offered=offered):
        fields["password"] = ""
    before = {name: getattr(device, name) for name in fields}
    for name, value in fields.items():
        setattr(device, name, value)
    exclude = [field.name for field in Device._meta.concrete_fields if field.name not in fields]
    try:
        _device_check(device, exclude=exclude, user=user, groups=groups, editing=True)
    except ValidationError:
        for name, value in before.items():
            setattr(device, name, value)
        raise
    with transaction.atomic():
        device.save()
        if groups is not None:
            device.groups.set(groups)
        if "name" in before and before["name"] != device.name:
            device_discovery_publish(device=device)  # Home Assistant shows the new name
    return device


def devices_claim_due(*, now: datetime | None = None) -> list[Device]:
    """Claim the enabled devices whose capture slot has come, moving each to its next slot.

    Each claim is a compare-and-set UPDATE on next_capture_at, so two schedulers running
    at once (threads, processes or machines) never both claim a device for one slot.
    """
    now = now or timezone.now()
    due = Device.objects.filter(enabled=True).filter(Q(next_capture_at__isnull=True) | Q(next_capture_at__lte=now))
    claimed = []
    for device in due.only("pk", "capture_interval_s", "next_capture_at"):
        interval = device_capture_interval_s(device=device)
        if interval <= 0:
            continue
        slot = Device.objects.filter(pk=device.pk, next_capture_at=device.next_capture_at)
        if slot.update(next_capture_at=now + timedelta(seconds=interval)) == 1:
            claimed.append(device.pk)
    return list(Device.objects.filter(pk__in=claimed))


def device_give_back_slot(*, device: Device) -> bool:
    """Undo a claim whose capture could not be queued (broker down): the camera is due again
    at the next tick, so the slot is not lost. A compare-and-set, like the claim."""
    slot = Device.objects.filter(pk=device.pk, next_capture_at=device.next_capture_at)
    return slot.update(next_capture_at=timezone.now()) == 1


@dataclass(frozen=True)
class Reencryption:
    reencrypted: int
    # Cameras whose stored password no configured key decrypts: left as they are.
    unreadable: list[Device]


def device_passwords_reencrypt() -> Reencryption:
    """Re-encrypt every stored camera password with the newest key.

    Run after putting a new key first in VAS_ENCRYPTION_KEYS; the old keys can be
    removed once this has run (and reported no unreadable password).
    """
    count = 0
    unreadable = []
    with transaction.atomic():
        for device in Device.objects.exclude(password="").only("pk", "name", "password").select_for_update():
            if device.password_unreadable:
                unreadable.append(device)
                continue
            # Saving the decrypted value encrypts it again with the first key.
            Device.objects.filter(pk=device.pk).update(password=device.password)
            count += 1
    return Reencryption(reencrypted=count, unreadable=unreadable)


def device_discover(*, device: Device) -> list[onvif.Profile]:
    """The camera's ONVIF profiles (onvif.DiscoveryError when it cannot tell): at onvif_host, or
    the RTSP URL's host, and onvif_port, with the camera's own credentials."""
    return onvif.discover(
        host=device_onvif_host(device=device),
        port=device.onvif_port,
        username=device.username,
        password=device.password,
        timeout_s=settings.CAPTURE_TIMEOUT_S,
    )


def _tls_dropped(current: str, offered: str) -> bool:
    return url_endpoint(current)[0] in ("rtsps", "https") and url_endpoint(offered)[0] not in ("rtsps", "https")


def device_apply_profile(*, device: Device, profile: onvif.Profile) -> Device:
    """Fill the camera's RTSP and snapshot URLs from a discovered profile, through device_update's
    rule. The password also stays for the URLs the profile offers on the ONVIF service's own
    host, at whatever port (the camera tells where its streams are), when that service is at the
    address the password was entered with (the stored one: moving it cleared the password) and
    the URL does not drop the TLS of the one it replaces (rtsps to rtsp, https to http: the
    answer came over plain http). Anywhere else it must be given again."""
    rtsp_url = profile.rtsp_url or device.rtsp_url
    snapshot_url = profile.snapshot_url or device.snapshot_url
    # What the camera offered is refused first, by the one message of its URL's validator (the
    # API's 502 and the admin action quote it); device_update then checks the whole camera.
    validate_rtsp_url(rtsp_url)
    if snapshot_url:
        validate_snapshot_url(snapshot_url)
    onvif_host = _onvif_address({name: getattr(device, name) for name in ENDPOINT_FIELDS})[1]
    offered = frozenset(
        url_endpoint(url)
        for url, current in ((profile.rtsp_url, device.rtsp_url), (profile.snapshot_url, device.snapshot_url))
        if url and url_endpoint(url)[1] == onvif_host and not _tls_dropped(current, url)
    )
    # A token that does not fit the field (ONVIF allows 64 characters) is not kept: nothing to ask by.
    token = profile.token or ""
    fields: dict[str, Any] = {
        "rtsp_url": rtsp_url,
        "snapshot_url": snapshot_url,
        "onvif_profile": token if len(token) <= ONVIF_TOKEN_MAX_LENGTH else "",
    }
    return _device_write(device=device, user=None, fields=fields, offered=offered)
