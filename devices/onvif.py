"""ONVIF discovery: ask a camera's device service for its media profiles, each profile's RTSP
stream URI and its snapshot URI, with onvif-zeep-async (the ONVIF client Home Assistant uses;
its WSDLs ship with it, so nothing but the camera is contacted). The camera's username and
password sign the requests (WS-Security UsernameToken digest).

The library is asynchronous; discovery is one short request-response exchange, run to its end
in an event loop of its own within a bounded time."""

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import zeep.exceptions
from onvif import ONVIFCamera
from onvif.exceptions import ONVIFError

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
