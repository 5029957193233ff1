"""ONVIF discovery: ask a camera's device service for its media profiles, each profile's RTSP
stream URI and its snapshot URI, with onvif-zeep-async (the ONVIF client Home Assistant uses;
its WSDLs ship with it, so nothing but the camera is contacted). The camera's username and
password sign the requests (WS-Security UsernameToken digest).

The library is asynchronous; discovery is one short request-response exchange, run to its end
in an event loop of its own within a bounded time.

Keyframes on request (request_keyframe): a one-shot grab, or the keeper's new session, asks the
camera for a keyframe at once (ONVIF Media's SetSynchronizationPoint, which Profile S cameras
implement for clients that join a stream) instead of waiting up to a whole keyframe interval for
the next one. That request is in the grab's path, so it is a single SOAP POST built here with the
standard library, not the library's several round trips and WSDL parsing; what it needs to know
first (where the media service is, how far the camera's clock is off) is asked once and kept."""

import asyncio
import base64
import functools
import hashlib
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET  # noqa: S405 - answers are parsed by expat, which refuses entity expansion bombs
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

import zeep.exceptions
from django.conf import settings
from onvif import ONVIFCamera
from onvif.exceptions import ONVIFError

from capture.camera import Camera
from vas_project import outbound

logger = logging.getLogger(__name__)

STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


@dataclass(frozen=True)
class Profile:
    token: str
    name: str
    rtsp_url: str
    snapshot_url: str


class DiscoveryError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def without_credentials(uri: str) -> str:
    """A URI the camera gave, without any user and password it put in it: credentials live in
    the device's own fields, never in a URL."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=f"{netloc}:{parts.port}" if parts.port else netloc))


async def _profiles(host: str, port: int, username: str, password: str) -> list[Profile]:
    camera = ONVIFCamera(host, port, username, password, adjust_time=True)
    try:
        await camera.update_xaddrs()
        media = await camera.create_media_service()
        found = []
        for profile in await media.GetProfiles():
            stream = await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": profile.token})
            try:
                snapshot = (await media.GetSnapshotUri({"ProfileToken": profile.token})).Uri
            except zeep.exceptions.Fault:  # a camera without still images for this profile
                snapshot = ""
            name = getattr(profile, "Name", "") or profile.token
            found.append(Profile(profile.token, name, without_credentials(stream.Uri), without_credentials(snapshot)))
        return found
    finally:
        await camera.close()


def _failure(exc: BaseException) -> DiscoveryError:
    text = str(exc).lower()
    if isinstance(exc, TimeoutError):
        return DiscoveryError("The camera's ONVIF service did not answer in time.", code="onvif_timeout")
    # ONVIF's fault for bad credentials is ter:NotAuthorized ("Sender not Authorized"); some answer HTTP 401.
    if "not authorized" in text or "notauthorized" in text or "401" in text:
        return DiscoveryError("The camera's ONVIF service refused the username or password.", code="onvif_auth_failed")
    if isinstance(exc, ONVIFError | OSError) and ("connect" in text or "refused" in text):
        return DiscoveryError("The camera's ONVIF service cannot be reached.", code="onvif_unreachable")
    message = f"The camera's ONVIF service gave no usable answer ({type(exc).__name__})."
    return DiscoveryError(message, code="onvif_failed")


def discover(*, host: str, port: int, username: str, password: str, timeout_s: float) -> list[Profile]:
    """The camera's media profiles with their stream and snapshot URIs, or DiscoveryError."""
    try:
        return asyncio.run(asyncio.wait_for(_profiles(host, port, username, password), timeout_s))
    except Exception as exc:  # noqa: BLE001 - the library raises many types; each is the camera's failure, classified
        error = _failure(exc)
        logger.warning("ONVIF discovery at %s:%s failed: %s (%s)", host, port, error.code, type(exc).__name__)
        raise error from None


SOAP = "http://www.w3.org/2003/05/soap-envelope"
DEVICE_WSDL = "http://www.onvif.org/ver10/device/wsdl"
MEDIA_WSDL = "http://www.onvif.org/ver10/media/wsdl"
SCHEMA = "http://www.onvif.org/ver10/schema"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"  # noqa: S105 - a type's name
BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
# ONVIF's Core specification fixes the device service's path on every device.
DEVICE_SERVICE_PATH = "/onvif/device_service"
# An ONVIF answer here is a few hundred bytes; more is not an answer.
MAX_ANSWER_BYTES = 256 * 1024
# How long what a camera said of itself (its media service's path, its clock) is kept.
SERVICE_KEPT_S = 600


@dataclass(frozen=True)
class _MediaService:
    url: str
    clock_offset_s: float
    until: float


_media_services: dict[tuple[str, int, str], _MediaService] = {}
_media_services_lock = threading.Lock()


def _envelope(body: str, *, username: str, password: str, clock_offset_s: float) -> bytes:
    """A SOAP 1.2 request, signed with a WS-Security UsernameToken digest when there is a username;
    Created in the camera's time, which cameras check against their own clock."""
    header = ""
    if username:
        nonce = secrets.token_bytes(16)
        created = (datetime.now(UTC) + timedelta(seconds=clock_offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 - WS-Security's digest is SHA-1
        header = (
            f'<s:Header><wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
            f"<wsse:Username>{escape(username)}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_DIGEST}">{base64.b64encode(digest).decode()}</wsse:Password>'
            f'<wsse:Nonce EncodingType="{BASE64}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
            f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"
        )
    envelope = f'<s:Envelope xmlns:s="{SOAP}">{header}<s:Body>{body}</s:Body></s:Envelope>'
    return ('<?xml version="1.0" encoding="UTF-8"?>' + envelope).encode()


def _post(url: str, envelope: bytes, *, timeout_s: float) -> ET.Element:
    """The answer's SOAP body; urllib.error.HTTPError for a fault (ONVIF answers faults with 4xx/5xx)."""
    request = urllib.request.Request(  # noqa: S310 - an http:// URL made here, from the device's settings
        url, data=envelope, headers={"Content-Type": "application/soap+xml; charset=utf-8"}
    )
    with (
        outbound.cut_off_after(timeout_s) as sockets,
        outbound.opener(on_socket=sockets.append).open(request, timeout=timeout_s) as response,
    ):
        answer = ET.fromstring(response.read(MAX_ANSWER_BYTES))  # noqa: S314 - see the import
    body = answer.find(f"{{{SOAP}}}Body")
    if body is None:
        raise ValueError("not a SOAP answer")
    if body.find(f"{{{SOAP}}}Fault") is not None:  # some cameras answer their faults with 200
        raise ValueError("a SOAP fault")
    return body


def _media_service(host: str, port: int, username: str, password: str, *, timeout_s: float) -> _MediaService:
    """Where the camera's media service answers and how far its clock is off: asked once (the
    clock unsigned, the services signed), then kept for SERVICE_KEPT_S. The service's path is
    taken from the camera's answer, its host and port never: a request goes only where the
    device's settings say (a camera behind NAT often names an address of its own network)."""
    key = (host, port, username)
    host = host.strip("[]")  # an IPv6 address typed as in a URL
    with _media_services_lock:
        kept = _media_services.get(key)
    if kept is not None and kept.until > time.monotonic():
        return kept
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    device_url = f"http://{netloc}{DEVICE_SERVICE_PATH}"
    clock = _post(
        device_url,
        _envelope(f'<GetSystemDateAndTime xmlns="{DEVICE_WSDL}"/>', username="", password="", clock_offset_s=0),
        timeout_s=timeout_s,
    )
    offset_s = _clock_offset_s(clock)
    services = _post(
        device_url,
        _envelope(
            f'<GetServices xmlns="{DEVICE_WSDL}"><IncludeCapability>false</IncludeCapability></GetServices>',
            username=username,
            password=password,
            clock_offset_s=offset_s,
        ),
        timeout_s=timeout_s,
    )
    path = ""
    for service in services.iter(f"{{{DEVICE_WSDL}}}Service"):
        if service.findtext(f"{{{DEVICE_WSDL}}}Namespace", "").strip() == MEDIA_WSDL:
            path = urlsplit(service.findtext(f"{{{DEVICE_WSDL}}}XAddr", "").strip()).path
    if not path:
        raise ValueError("no media service")
    found = _MediaService(f"http://{netloc}{path}", offset_s, time.monotonic() + SERVICE_KEPT_S)
    with _media_services_lock:
        _media_services[key] = found
    return found


def _clock_offset_s(body: ET.Element) -> float:
    """The camera's UTC clock minus ours; 0 when it does not say."""
    utc = body.find(f".//{{{SCHEMA}}}UTCDateTime")
    if utc is None:
        return 0.0
    fields = ("Year", "Month", "Day", "Hour", "Minute", "Second")
    try:
        year, month, day, hour, minute, second = (int(utc.findtext(f".//{{{SCHEMA}}}{name}", "")) for name in fields)
        camera_now = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return 0.0
    return (camera_now - datetime.now(UTC)).total_seconds()


def request_keyframe(
    *, host: str, port: int, username: str, password: str, profile_token: str, timeout_s: float
) -> bool:
    """Ask the camera to send a keyframe now on the profile's stream (SetSynchronizationPoint).
    True when it agreed. A refusal or no answer is logged and only costs the wait for the
    stream's own next keyframe, so it is never raised."""
    try:
        media = _media_service(host, port, username, password, timeout_s=timeout_s)
        token = f"<ProfileToken>{escape(profile_token)}</ProfileToken>"
        body = f'<SetSynchronizationPoint xmlns="{MEDIA_WSDL}">{token}</SetSynchronizationPoint>'
        _post(
            media.url,
            _envelope(body, username=username, password=password, clock_offset_s=media.clock_offset_s),
            timeout_s=timeout_s,
        )
    except Exception as exc:  # noqa: BLE001 - whatever the camera does, the grab goes on without it
        with _media_services_lock:  # asked afresh next time: the camera may have moved or changed
            _media_services.pop((host, port, username), None)
        reason = f"HTTP {exc.code}" if isinstance(exc, urllib.error.HTTPError) else type(exc).__name__
        logger.info("ONVIF keyframe request at %s:%s failed (%s)", host, port, reason)
        return False
    return True


# A keyframe request is answered within a few hundred milliseconds or it is of no use.
KEYFRAME_REQUEST_TIMEOUT_S = 2.0


def keyframe_request(camera: Camera) -> Callable[[], None] | None:
    """What asks the camera for a keyframe now (request_keyframe) in a thread of its own,
    returning at once, to call once its stream is playing; None when the camera has no ONVIF
    profile."""
    if not camera.onvif_profile or camera.password_unreadable:
        return None
    ask = functools.partial(
        request_keyframe,
        host=camera.onvif_host,
        port=camera.onvif_port,
        username=camera.username,
        password=camera.password,
        profile_token=camera.onvif_profile,
        timeout_s=min(KEYFRAME_REQUEST_TIMEOUT_S, settings.CAPTURE_TIMEOUT_S),
    )
    return lambda: threading.Thread(target=ask, daemon=True, name="keyframe-request").start()
