"""ONVIF: ask a camera's device service for its media profiles, each profile's RTSP stream URI
and its snapshot URI (discovery), and ask it for a keyframe now (request_keyframe). The
camera's username and password sign the requests (WS-Security UsernameToken digest), in the
camera's time, which cameras check against their own clock.

Both are a few SOAP 1.2 POSTs built here with the standard library and sent through
vas_project.outbound, the one bounded way out: each answer read only up to MAX_ANSWER_BYTES, no
redirect followed (a 3xx is a failure: a signed request is never sent again anywhere), no proxy,
and one deadline for the whole discovery or keyframe request, however many requests it makes.
Every request goes to the device's own address (onvif_host and onvif_port): of the service
addresses a camera names, only the path is used (a camera behind NAT often names an address of
its own network; a hostile one, any address at all).

Discovery: the camera's clock (GetSystemDateAndTime, unsigned), where its media service is
(GetServices; GetCapabilities on a camera older than ONVIF 2.0), its profiles (GetProfiles) and
each one's stream and snapshot URIs (GetStreamUri, GetSnapshotUri).

Keyframes on request (request_keyframe): a one-shot grab, or the keeper's new session, asks the
camera for a keyframe at once (ONVIF Media's SetSynchronizationPoint, which Profile S cameras
implement for clients that join a stream) instead of waiting up to a whole keyframe interval for
the next one. That request is in the grab's path, so what it needs to know first (where the
media service is, how far the camera's clock is off) is asked once and kept."""

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

from django.conf import settings

from capture.camera import Camera
from vas_project import outbound

logger = logging.getLogger(__name__)

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
# An ONVIF answer here is a few hundred bytes, a camera's profiles a few kilobytes; more is not an answer.
MAX_ANSWER_BYTES = 256 * 1024
# A camera has a handful of profiles; discovery offers at most this many (each costs two requests).
MAX_PROFILES = 32
# How long what a camera said of itself (its media service's path, its clock) is kept.
SERVICE_KEPT_S = 600


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


class SoapFault(Exception):
    """The camera refused a request: a SOAP fault (with whatever HTTP status: some cameras answer
    theirs with 200) or an HTTP error status. reason is the fault's words, if any."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}" + (f": {reason}" if reason else ""))
        self.status = status
        self.reason = reason

    @property
    def refused_credentials(self) -> bool:
        # ONVIF's fault for bad credentials is ter:NotAuthorized ("Sender not Authorized"); some answer HTTP 401.
        words = self.reason.lower()
        return self.status == 401 or "notauthorized" in words or "not authorized" in words


class Redirected(Exception):
    """The camera answered a redirect, which is not followed."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}, a redirect")
        self.status = status


def without_credentials(uri: str) -> str:
    """A URI the camera gave, without any user and password it put in it: credentials live in
    the device's own fields, never in a URL."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=f"{netloc}:{parts.port}" if parts.port else netloc))


def _profiles(host: str, port: int, username: str, password: str, *, watch: outbound.Watch) -> list[Profile]:
    media = _ask_media_service(host, port, username, password, watch=watch)

    def call(body: str) -> ET.Element:
        envelope = _envelope(body, username=username, password=password, clock_offset_s=media.clock_offset_s)
        return _post(media.url, envelope, watch=watch)

    found = []
    for profile in list(call(f'<GetProfiles xmlns="{MEDIA_WSDL}"/>').iter(f"{{{MEDIA_WSDL}}}Profiles"))[:MAX_PROFILES]:
        token = profile.get("token", "")
        if not token:
            continue
        name = profile.findtext(f"{{{SCHEMA}}}Name", "").strip() or token
        setup = (
            f'<StreamSetup><Stream xmlns="{SCHEMA}">RTP-Unicast</Stream>'
            f'<Transport xmlns="{SCHEMA}"><Protocol>RTSP</Protocol></Transport></StreamSetup>'
        )
        token_field = f"<ProfileToken>{escape(token)}</ProfileToken>"
        stream = call(f'<GetStreamUri xmlns="{MEDIA_WSDL}">{setup}{token_field}</GetStreamUri>')
        stream_uri = stream.findtext(f".//{{{SCHEMA}}}Uri", "").strip()
        if not stream_uri:
            raise ValueError("no stream URI")
        try:
            snapshot = call(f'<GetSnapshotUri xmlns="{MEDIA_WSDL}">{token_field}</GetSnapshotUri>')
            snapshot_uri = snapshot.findtext(f".//{{{SCHEMA}}}Uri", "").strip()
        except SoapFault as fault:  # a camera without still images for this profile
            if fault.refused_credentials:
                raise
            snapshot_uri = ""
        found.append(Profile(token, name, without_credentials(stream_uri), without_credentials(snapshot_uri)))
    return found


def _failure(exc: BaseException) -> DiscoveryError:
    if isinstance(exc, TimeoutError):
        return DiscoveryError("The camera's ONVIF service did not answer in time.", code="onvif_timeout")
    if isinstance(exc, SoapFault) and exc.refused_credentials:
        return DiscoveryError("The camera's ONVIF service refused the username or password.", code="onvif_auth_failed")
    if isinstance(exc, Redirected):
        message = f"The camera's ONVIF service answered {exc.status}, a redirect; redirects are not followed."
        return DiscoveryError(message, code="onvif_failed")
    if isinstance(exc, urllib.error.URLError):  # urllib's failure to connect or to send the request
        return DiscoveryError("The camera's ONVIF service cannot be reached.", code="onvif_unreachable")
    message = f"The camera's ONVIF service gave no usable answer ({type(exc).__name__})."
    return DiscoveryError(message, code="onvif_failed")


def discover(*, host: str, port: int, username: str, password: str, timeout_s: float) -> list[Profile]:
    """The camera's media profiles with their stream and snapshot URIs, or DiscoveryError; the
    whole discovery within timeout_s."""
    try:
        with outbound.cut_off_after(timeout_s) as watch:
            return _profiles(host, port, username, password, watch=watch)
    except Exception as exc:  # noqa: BLE001 - whatever the camera does is its failure, classified
        error = _failure(exc)
        logger.warning("ONVIF discovery at %s:%s failed: %s (%s)", host, port, error.code, type(exc).__name__)
        raise error from None


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


def _post(url: str, envelope: bytes, *, watch: outbound.Watch) -> ET.Element:
    """The answer's SOAP body, read up to MAX_ANSWER_BYTES within watch's deadline. SoapFault for
    a fault (ONVIF answers them with 4xx/5xx, some cameras with 200) or another error status,
    Redirected for a 3xx, ParseError or ValueError for what is no SOAP answer; TimeoutError,
    outbound.TooLarge and OSError as outbound.exchange raises them."""
    request = urllib.request.Request(  # noqa: S310 - an http:// URL made here, from the device's settings
        url, data=envelope, headers={"Content-Type": "application/soap+xml; charset=utf-8"}
    )
    answer = outbound.exchange(request, watch=watch, max_bytes=MAX_ANSWER_BYTES, error_bytes=MAX_ANSWER_BYTES)
    if 300 <= answer.status < 400:
        raise Redirected(answer.status)
    try:
        body = ET.fromstring(answer.body).find(f"{{{SOAP}}}Body")  # noqa: S314 - see the import
    except ET.ParseError:
        if answer.status >= 400:
            raise SoapFault(answer.status, "") from None
        raise
    fault = body.find(f"{{{SOAP}}}Fault") if body is not None else None
    if fault is not None or answer.status >= 400:
        words = " ".join(text.strip() for text in fault.itertext() if text.strip()) if fault is not None else ""
        raise SoapFault(answer.status, words[:300])
    if body is None:
        raise ValueError("not a SOAP answer")
    return body


def _media_service(host: str, port: int, username: str, password: str, *, watch: outbound.Watch) -> _MediaService:
    """_ask_media_service's answer, asked once and then kept for SERVICE_KEPT_S."""
    key = (host, port, username)
    with _media_services_lock:
        kept = _media_services.get(key)
    if kept is not None and kept.until > time.monotonic():
        return kept
    found = _ask_media_service(host, port, username, password, watch=watch)
    with _media_services_lock:
        _media_services[key] = found
    return found


def _ask_media_service(host: str, port: int, username: str, password: str, *, watch: outbound.Watch) -> _MediaService:
    """Where the camera's media service answers and how far its clock is off: the clock asked
    unsigned (signed if the camera wants it so), the services signed. The service's path is taken
    from the camera's answer, its host and port never: a request goes only where the device's
    settings say."""
    host = host.strip("[]")  # an IPv6 address typed as in a URL
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    device_url = f"http://{netloc}{DEVICE_SERVICE_PATH}"

    def call(body: str, *, signed: bool = True, clock_offset_s: float = 0) -> ET.Element:
        credentials = {"username": username, "password": password} if signed else {"username": "", "password": ""}
        return _post(device_url, _envelope(body, **credentials, clock_offset_s=clock_offset_s), watch=watch)

    clock_request = f'<GetSystemDateAndTime xmlns="{DEVICE_WSDL}"/>'
    try:
        clock = call(clock_request, signed=False)
    except SoapFault:
        if not username:
            raise
        clock = call(clock_request)  # a camera that tells its time only to a signed request (in ours)
    offset_s = _clock_offset_s(clock)
    path = ""
    try:
        services = call(
            f'<GetServices xmlns="{DEVICE_WSDL}"><IncludeCapability>false</IncludeCapability></GetServices>',
            clock_offset_s=offset_s,
        )
        for service in services.iter(f"{{{DEVICE_WSDL}}}Service"):
            if service.findtext(f"{{{DEVICE_WSDL}}}Namespace", "").strip() == MEDIA_WSDL:
                path = urlsplit(service.findtext(f"{{{DEVICE_WSDL}}}XAddr", "").strip()).path
    except SoapFault as fault:
        if fault.refused_credentials:
            raise
    if not path:  # a camera older than ONVIF 2.0, without GetServices
        capabilities = call(
            f'<GetCapabilities xmlns="{DEVICE_WSDL}"><Category>Media</Category></GetCapabilities>',
            clock_offset_s=offset_s,
        )
        path = urlsplit(capabilities.findtext(f".//{{{SCHEMA}}}Media/{{{SCHEMA}}}XAddr", "").strip()).path
    if not path:
        raise ValueError("no media service")
    return _MediaService(f"http://{netloc}{path}", offset_s, time.monotonic() + SERVICE_KEPT_S)


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
    """Ask the camera to send a keyframe now on the profile's stream (SetSynchronizationPoint),
    all its requests within timeout_s. True when it agreed. A refusal or no answer is logged and
    only costs the wait for the stream's own next keyframe, so it is never raised."""
    try:
        with outbound.cut_off_after(timeout_s) as watch:  # one deadline for its requests
            media = _media_service(host, port, username, password, watch=watch)
            token = f"<ProfileToken>{escape(profile_token)}</ProfileToken>"
            body = f'<SetSynchronizationPoint xmlns="{MEDIA_WSDL}">{token}</SetSynchronizationPoint>'
            envelope = _envelope(body, username=username, password=password, clock_offset_s=media.clock_offset_s)
            _post(media.url, envelope, watch=watch)
    except Exception as exc:  # noqa: BLE001 - whatever the camera does, the grab goes on without it
        with _media_services_lock:  # asked afresh next time: the camera may have moved or changed
            _media_services.pop((host, port, username), None)
        reason = f"HTTP {exc.status}" if isinstance(exc, SoapFault | Redirected) else type(exc).__name__
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
