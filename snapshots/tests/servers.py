"""Network peers for capture tests, all on 127.0.0.1: the RTSP test camera and broken cameras."""

import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
from django.conf import settings
from django.db import connection

from capture import live, rtsp

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CAMERA_SCRIPT = BASE_DIR / "scripts" / "test_camera.py"
# The camera uses GStreamer through Debian's python3-gi, so it runs on Debian's Python.
SYSTEM_PYTHON = "/usr/bin/python3"
CAMERA_USER = "camuser"
CAMERA_PASSWORD = "cam-secret-Pa55"


def wait_for(condition: Callable[[], object], *, timeout_s: float, what: str) -> None:
    """Poll condition until it holds; fail naming what was awaited after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s} s for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class CameraServer:
    port: int
    process: subprocess.Popen[bytes]
    # The camera's ONVIF device service (its profiles lead to /on-request).
    onvif_port: int

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"


def start_test_camera(
    tmp_dir: Path,
    *,
    paths: int = 0,
    paths_media: str = "h264_short_gop",
    attempts: int = 3,
    ready_timeout_s: float | None = None,
    extra_args: tuple[str, ...] = (),
) -> CameraServer:
    """Start scripts/test_camera.py and wait until every stream flows.

    The media is encoded first (once per machine). About one start in ten stalls inside
    GStreamer while building its streams; such a start is killed and tried again.
    """
    subprocess.run([SYSTEM_PYTHON, str(CAMERA_SCRIPT), "--port", "0", "--encode-only"], check=True, timeout=900)
    for _ in range(attempts):
        # Each stream takes its own start; hundreds of them take a while on two cores.
        wait_s = ready_timeout_s or 40 + paths * 0.5
        camera = _start_camera_once(
            tmp_dir, paths=paths, paths_media=paths_media, ready_timeout_s=wait_s, extra_args=extra_args
        )
        if camera is not None:
            return camera
    raise RuntimeError(f"test camera did not start in {attempts} attempts; see the logs in {tmp_dir}")


def _start_camera_once(
    tmp_dir: Path, *, paths: int, paths_media: str, ready_timeout_s: float, extra_args: tuple[str, ...]
) -> CameraServer | None:
    port, onvif_port = free_port(), free_port()
    ready_file = tmp_dir / f"camera-{port}.ready"
    log = (tmp_dir / f"camera-{port}.log").open("wb")
    argv = [SYSTEM_PYTHON, str(CAMERA_SCRIPT), "--port", str(port), "--ready-file", str(ready_file)]
    argv += ["--paths", str(paths), "--paths-media", paths_media, "--onvif-port", str(onvif_port), *extra_args]
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + ready_timeout_s
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            return None
        time.sleep(0.1)
    return CameraServer(port=port, process=process, onvif_port=onvif_port)


def stop_process(process: subprocess.Popen[bytes], *, grace_s: float = 10) -> None:
    """SIGTERM, then SIGKILL after grace_s."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SilentServer:
    """Accepts TCP connections and never answers: a camera that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def url(self, path: str = "stream") -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def clients_connected(self) -> int:
        """How many clients still hold their connection open (what they sent is read and dropped)."""
        still_open = 0
        for client in self.connections:
            try:
                while client.recv(65536, socket.MSG_DONTWAIT):
                    pass
            except BlockingIOError:
                still_open += 1  # nothing more to read, and not closed
            except OSError:
                continue  # reset by the client
        return still_open

    def close(self) -> None:
        self.sock.close()
        for client in self.connections:
            client.close()


class GarblingServer:
    """Answers every connection with the same bytes, whatever it was asked: a server that does
    not speak the protocol its client expects (HTTP, SOAP)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._answer, daemon=True).start()

    def _answer(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                client.recv(65536)
                client.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()


def serve_connections(sock: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    """Accept connections on sock, each served by serve in a thread of its own, until sock closes."""

    def accept() -> None:
        while True:
            try:
                client, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


class DamagingProxy:
    """Relays RTSP clients to the test camera and damages the first keyframe it relays: after the
    first fragments of an H.264 IDR picture it drops the rest of that picture and, with cut=True,
    closes the connection there (a camera or network dropping out mid-frame); otherwise it goes
    on relaying, as a camera that sent one bad frame would. Later keyframes and clients pass.
    With damage=False it damages nothing. After freeze() it relays nothing more, to any
    client, and keeps every connection open: a camera that hangs."""

    FRAGMENTS_KEPT = 6
    FRAGMENTS_DROPPED = 30

    def __init__(self, camera_port: int, *, cut: bool = False, damage: bool = True) -> None:
        self.camera_port = camera_port
        self.cut = cut
        self.frozen = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.damaged = threading.Event()
        if not damage:
            self.damaged.set()
        self.clients = 0
        serve_connections(self.sock, self._serve)

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def _serve(self, client: socket.socket) -> None:
        self.clients += 1
        upstream = socket.create_connection(("127.0.0.1", self.camera_port))
        threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
        try:
            self._relay(upstream, client)
        except OSError:
            pass
        finally:
            for connection in (client, upstream):
                # shutdown, not only close: the request relay's recv holds the socket open.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        # The camera names its shared streams by the whole URL: requests must name its own port.
        ours, theirs = f"127.0.0.1:{self.port}".encode(), f"127.0.0.1:{self.camera_port}".encode()
        try:
            while data := client.recv(65536):
                if not self.frozen.is_set():
                    upstream.sendall(data.replace(ours, theirs))
        except OSError:
            pass

    def _relay(self, upstream: socket.socket, client: socket.socket) -> None:
        buffer = b""
        kept = dropped = None  # counting once the first IDR picture starts
        while data := upstream.recv(65536):
            buffer += data
            while (message := self._next_message(buffer)) is not None:
                buffer = buffer[len(message) :]
                if self.frozen.is_set():
                    continue
                if kept is None and not self.damaged.is_set() and self._starts_idr(message):
                    kept, dropped = 0, 0
                if kept is None or dropped is None:
                    client.sendall(message)
                elif kept < self.FRAGMENTS_KEPT:
                    client.sendall(message)
                    kept += 1
                elif self.cut:
                    self.damaged.set()
                    return
                elif dropped < self.FRAGMENTS_DROPPED:
                    dropped += 1
                else:
                    self.damaged.set()
                    kept = dropped = None
                    client.sendall(message)

    @staticmethod
    def _next_message(buffer: bytes) -> bytes | None:
        """One interleaved RTP packet ($, channel, length) or one RTSP message, whole."""
        if buffer[:1] == b"$":
            if len(buffer) < 4:
                return None
            end = 4 + int.from_bytes(buffer[2:4], "big")
            return buffer[:end] if len(buffer) >= end else None
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        length = 0
        for line in buffer[:head_end].split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        end = head_end + 4 + length
        return buffer[:end] if len(buffer) >= end else None

    @staticmethod
    def _starts_idr(message: bytes) -> bool:
        if message[:2] != b"$\x00" or len(message) < 4 + 14:
            return False
        rtp = message[4:]
        payload = rtp[12 + 4 * (rtp[0] & 0x0F) :]
        # FU-A (type 28) with the start bit, carrying an IDR slice (type 5).
        return len(payload) >= 2 and payload[0] & 0x1F == 28 and bool(payload[1] & 0x80) and payload[1] & 0x1F == 5

    def close(self) -> None:
        self.sock.close()


def read_keyframes(url: str, count: int) -> list[live.LiveFrame]:
    """The stream's first keyframes as the keeper would publish them."""
    frames: list[live.LiveFrame] = []
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.size:
                context = stream.codec_context
                frame = live.LiveFrame(
                    seq=len(frames) + 1,
                    captured_at=time.time(),
                    codec=context.name,
                    extradata=bytes(context.extradata or b""),
                    packet=bytes(packet),
                    width=context.width,
                    height=context.height,
                )
                frames.append(frame)
                if len(frames) == count:
                    return frames
    return frames


def all_command_lines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue  # the process ended meanwhile
    return lines


def children_of(pid: int) -> list[str]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += (task / "children").read_text().split()
    return children


def make_certificate(directory: Path, *, name: str) -> tuple[Path, Path]:
    """A self-signed certificate (it is its own CA) for name, an IP address or a DNS name."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    alt = f"IP:{name}" if name.replace(".", "").isdigit() else f"DNS:{name}"
    argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}"]
    argv += ["-addext", f"subjectAltName={alt}", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(argv, check=True, capture_output=True)
    return cert, key


class TlsCamera:
    """rtsps:// in front of the test camera: TLS with the given certificate on 127.0.0.1,
    plain RTSP to the camera. Counts the bytes clients sent through a finished handshake."""

    def __init__(self, camera_port: int, *, cert: Path, key: Path) -> None:
        self.camera_port = camera_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        serve_connections(self.sock, self._serve)

    def url(self, path: str) -> str:
        return f"rtsps://127.0.0.1:{self.port}/{path}"

    def _serve(self, client: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()
            return
        self.handshakes += 1

        # Requests name the product's loopback relay; the camera names its shared streams by
        # the whole URL, so they are made to name the camera (see DamagingProxy).
        def to_camera(data: bytes) -> bytes:
            return re.sub(rb"rtsp://127\.0\.0\.1:\d+/", f"rtsp://127.0.0.1:{self.camera_port}/".encode(), data)

        with tls, socket.create_connection(("127.0.0.1", self.camera_port)) as upstream:
            rtsp.relay_tls(upstream, tls, edit=to_camera)

    def close(self) -> None:
        self.sock.close()


def database_url() -> str:
    """The test database as a URL, for the product's processes a test starts."""
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    return f"postgres://{params['USER']}{password}@{params['HOST']}:{params['PORT'] or 5432}/{params['NAME']}"


def product_environment(**overrides: str) -> dict[str, str]:
    """The environment of a product process on the test database: DEBUG off, as in production,
    with this process's keys so that its tokens and encrypted passwords are accepted there."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "VAS_ENCRYPTION_KEYS": ",".join(settings.ENCRYPTION_KEYS),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "VAS_LIVE_DIR": str(settings.LIVE_DIR),
        **overrides,
    }


@dataclass
class WebServer:
    """gunicorn serving the product on 127.0.0.1."""

    base: str
    process: subprocess.Popen[bytes]

    def workers(self) -> list[int]:
        return [int(pid) for pid in children_of(self.process.pid)]

    def call(
        self, method: str, path: str, *, token: str = "", body: dict | None = None, timeout_s: float = 30
    ) -> tuple[int, dict]:
        """One request: its status and JSON body (errors included)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - 127.0.0.1 only
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def start_web(log_dir: Path, *, workers: int = 1, **environment: str) -> WebServer:
    """gunicorn with the given number of workers on the test database; up when its health answers."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "vas_project.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    log = (log_dir / f"gunicorn-{port}.log").open("wb")
    process = subprocess.Popen(
        argv, cwd=BASE_DIR, env=product_environment(**environment), stdout=log, stderr=subprocess.STDOUT
    )
    web = WebServer(base=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + 30
    while True:
        try:
            web.call("GET", "/api/health", timeout_s=2)
            return web
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_process(process)
                raise RuntimeError(f"gunicorn did not start; see {log.name}") from None
            time.sleep(0.2)
