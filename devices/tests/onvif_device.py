"""A minimal ONVIF device on 127.0.0.1 for tests: a SOAP endpoint answering
GetSystemDateAndTime, GetServices, GetProfiles, GetStreamUri, GetSnapshotUri and
SetSynchronizationPoint, checking the WS-Security UsernameToken digest of every request but the
clock's. The test camera (scripts/test_camera.py) serves one too, so it uses nothing but the
standard library."""

import base64
import hashlib
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import unescape

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema"><s:Body>{}</s:Body></s:Envelope>'
)
FAULT = (
    "<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code>"
    '<s:Reason><s:Text xml:lang="en">{}</s:Text></s:Reason></s:Fault>'
)


def _field(body: str, name: str) -> str | None:
    found = re.search(rf"<(?:[\w-]+:)?{name}(?:\s[^>]*)?>([^<]*)<", body)
    return unescape(found.group(1)) if found else None


class OnvifDevice:
    """stream_uri and snapshot_uri are what GetStreamUri and GetSnapshotUri answer for every
    profile; an empty snapshot_uri answers GetSnapshotUri with a fault (no still image).
    on_sync_point(profile_token) is called for each SetSynchronizationPoint: the camera's encoder
    is to send a keyframe at once."""

    def __init__(
        self,
        *,
        user: str,
        password: str,
        stream_uri: str,
        snapshot_uri: str,
        port: int = 0,
        on_sync_point: Callable[[str], None] | None = None,
        clock_offset_s: float = 0,
    ):
        self.user, self.password = user, password
        self.stream_uri, self.snapshot_uri = stream_uri, snapshot_uri
        self.on_sync_point = on_sync_point
        # How far this device's clock is off (real cameras' often are): its answers and its
        # check of a request's Created time use it.
        self.clock_offset_s = clock_offset_s
        self.actions: list[str] = []
        self.sync_points: list[str] = []
        self.profiles = [("main", "mainStream"), ("sub", "subStream")]
        # The HTTP status of a fault: 400 as ONVIF says; some cameras answer 200.
        self.fault_status = 400
        device = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                action = re.search(r"<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)", body).group(1)
                device.actions.append(action)
                if action != "GetSystemDateAndTime" and not device.signed(body):
                    self.reply(device.fault_status, FAULT.format("Sender not Authorized"))
                    return
                answer = getattr(device, action, None)
                inner = answer(body) if answer else FAULT.format("Action not supported")
                self.reply(device.fault_status if inner.startswith("<s:Fault") else 200, inner)

            def reply(self, status: int, inner: str) -> None:
                data = ENVELOPE.format(inner).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def signed(self, body: str) -> bool:
        user, digest = _field(body, "Username"), _field(body, "Password")
        nonce, created = _field(body, "Nonce"), _field(body, "Created")
        if None in (user, digest, nonce, created):
            return False
        # As cameras do, a request whose Created time is far from the device's clock is refused.
        sent = datetime.fromisoformat(created.replace("Z", "+00:00"))
        if abs((sent - self._now()).total_seconds()) > 5:
            return False
        raw = base64.b64decode(nonce) + created.encode() + self.password.encode()
        return user == self.user and digest == base64.b64encode(hashlib.sha1(raw).digest()).decode()  # noqa: S324 - WS-Security's digest is SHA-1

    def _now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)

    def _xaddr(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/{service}"

    def GetSystemDateAndTime(self, body: str) -> str:  # noqa: N802 - ONVIF's operation names
        now = self._now()
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
            "<tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime>"
            f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time>"
            f"<tt:Date><tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
            "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def GetServices(self, body: str) -> str:  # noqa: N802
        # Each service at a path of its own, as cameras do; the device service where ONVIF puts it.
        services = "".join(
            f"<tds:Service><tds:Namespace>{namespace}</tds:Namespace><tds:XAddr>{self._xaddr(service)}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>5</tt:Minor></tds:Version></tds:Service>"
            for namespace, service in (
                ("http://www.onvif.org/ver10/device/wsdl", "device_service"),
                ("http://www.onvif.org/ver10/media/wsdl", "media_service"),
            )
        )
        return f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>"

    def GetProfiles(self, body: str) -> str:  # noqa: N802
        profiles = "".join(
            f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name></trt:Profiles>'
            for token, name in self.profiles
        )
        return f"<trt:GetProfilesResponse>{profiles}</trt:GetProfilesResponse>"

    def _media_uri(self, operation: str, uri: str) -> str:
        return (
            f"<trt:{operation}Response><trt:MediaUri><tt:Uri>{uri}</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
            f"<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{operation}Response>"
        )

    def GetStreamUri(self, body: str) -> str:  # noqa: N802
        return self._media_uri("GetStreamUri", self.stream_uri)

    def GetSnapshotUri(self, body: str) -> str:  # noqa: N802
        if not self.snapshot_uri:
            return FAULT.format("No snapshot for this profile")
        return self._media_uri("GetSnapshotUri", self.snapshot_uri)

    def SetSynchronizationPoint(self, body: str) -> str:  # noqa: N802
        token = _field(body, "ProfileToken") or ""
        if token not in dict(self.profiles):
            return FAULT.format("No such profile")
        self.sync_points.append(token)
        if self.on_sync_point is not None:
            self.on_sync_point(token)
        return "<trt:SetSynchronizationPointResponse/>"
