"""HTTP requests the product makes to addresses users gave it (webhook receivers, cameras'
still-image URLs and ONVIF services): the one way out, bounded in bytes and in time.

- No proxy from the environment, no redirect followed (a 3xx is the server's answer, not a place
  to go: nothing is sent again anywhere), and no scheme but http and https.
- One deadline for a whole exchange (cut_off_after), however many requests it makes: a watchdog
  shuts down every socket of it at the deadline, which wakes whatever waits on one, a connection
  still being made, a TLS handshake, headers or a body trickled a byte at a time (socket timeouts
  only bound each wait for a byte), and no connection is begun after it.
- Answers read only up to a cap (exchange, read_body), as they stream: memory never grows with
  what a server sends.
- With an address check, a request connects only to an address the check accepts, judged on the
  very address it connects to: a host name that resolves to a public address when checked and to
  this machine a moment later (DNS rebinding) is refused. is_public_address is the judgment for
  receivers anywhere on the internet (webhooks)."""

import contextlib
import email.message
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# Why this server will not connect to (host name, resolved address), or None.
AddressCheck = Callable[[str, str], str | None]

# Of an answer that is not a 2xx, what exchange reads by default: its start, to show or parse.
ERROR_BODY_BYTES = 64 * 1024
READ_CHUNK_BYTES = 64 * 1024


class RefusedAddress(OSError):
    """The address check refused where the host name leads; its message says why."""


class TooLarge(Exception):
    """The answer's body is longer than the caller's cap; what came was not kept."""


# --- where a request may go ----------------------------------------------------------------------

# NAT64's well-known prefix (RFC 6052), IPv4-translated addresses (SIIT) and the deprecated
# IPv4-compatible form: each carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
# NAT64's local-use prefix (RFC 8215): a network's own translator, to addresses of its choosing.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public_address(address: str) -> bool:
    """Whether address (an IP address, IPv6 with or without a zone) is on the public internet:
    not this machine, a private network, link-local (cloud metadata), shared, reserved or
    multicast. An IPv6 address that leads to an IPv4 one (IPv4-mapped or -translated, NAT64,
    6to4) is judged by that IPv4 address, which Python's ipaddress takes as public for NAT64 and
    6to4 (64:ff9b::7f00:1 is 127.0.0.1 through the translator). Teredo (2001::/32), whose
    client address is obfuscated, is never public, nor is a local-use NAT64 prefix, nor the
    IPv4-compatible form (::a.b.c.d, deprecated, leading nowhere today)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None or ip in _LOCAL_NAT64 or ip in _COMPATIBLE:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and (ip in _NAT64 or ip in _TRANSLATED):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


# --- one deadline --------------------------------------------------------------------------------


class Watch:
    """The sockets of one exchange, shut down at its deadline. Give an opener on_socket=watch.append:
    each socket is shown before it connects, and a duplicate of it is kept (the same connection,
    whatever becomes of the socket object: http.client wraps it in TLS, urllib drops it once the
    headers are in), so the cut reaches a connection being made, its handshake, headers and body
    alike. The duplicates are closed when the watch ends (or by release)."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket | None] = []
        self._cut = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def expired(self) -> bool:
        return self._cut or time.monotonic() >= self.deadline

    def append(self, sock: socket.socket) -> None:
        """Watch sock; TimeoutError once the deadline has passed, so nothing new begins."""
        with self._lock:
            if self.expired:
                raise TimeoutError("the exchange's deadline has passed")
            self._sockets.append(sock.dup())

    def mark(self) -> int:
        return len(self._sockets)

    def release(self, mark: int) -> None:
        """Stop watching (and close) the sockets shown since mark: their exchange is over."""
        with self._lock:
            for index in range(mark, len(self._sockets)):
                if (sock := self._sockets[index]) is not None:
                    sock.close()
                    self._sockets[index] = None

    def cut_off(self) -> None:
        with self._lock:
            self._cut = True
            for sock in self._sockets:
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.release(0)


@contextlib.contextmanager
def cut_off_after(seconds: float) -> Iterator[Watch]:
    """A Watch whose sockets are all shut down after seconds: one deadline for everything done
    within, however many requests (give each request watch.remaining() as its socket timeout,
    or use exchange, which does)."""
    watch = Watch(seconds)
    watchdog = threading.Timer(seconds, watch.cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield watch
    finally:
        watchdog.cancel()
        watch.close()


# --- the opener ----------------------------------------------------------------------------------


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # a 3xx is the server's answer, not a place to go


def _not_spoken(req: urllib.request.Request) -> None:
    raise urllib.error.URLError(f"only http and https are spoken here, not {req.type}:")


# urllib's openers speak file:, ftp: and data: too: these take their places and refuse.
class _NoFile(urllib.request.FileHandler):
    file_open = staticmethod(_not_spoken)  # type: ignore[assignment]


class _NoFTP(urllib.request.FTPHandler):
    ftp_open = staticmethod(_not_spoken)  # type: ignore[assignment]


class _NoData(urllib.request.DataHandler):
    data_open = staticmethod(_not_spoken)  # type: ignore[assignment]


def _connect_checked(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: Any = None,
    *,
    check: AddressCheck | None,
    on_socket: Callable[[socket.socket], None] | None,
) -> socket.socket:
    """socket.create_connection, checking each address the host resolves to before connecting to
    it, and showing each socket to on_socket before it connects."""
    host, port = address
    failure: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if check is not None and (problem := check(host, str(sockaddr[0]))):
            raise RefusedAddress(problem)
        sock = socket.socket(family, kind, proto)
        try:
            if on_socket is not None:
                on_socket(sock)  # past the deadline: raises, and nothing more is tried
        except BaseException:
            sock.close()
            raise
        try:
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        return sock
    raise failure or OSError(f"{host} resolves to no address")


class _Connections:
    """Makes the handlers' connections: each connects through the address check, its socket
    shown to on_socket first."""

    def __init__(self, check: AddressCheck | None, on_socket: Callable[[socket.socket], None] | None) -> None:
        self.check = check
        self.on_socket = on_socket

    def maker(self, connection_class: type[http.client.HTTPConnection]) -> Callable[..., http.client.HTTPConnection]:
        def connection(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            made = connection_class(host, **kwargs)
            # http.client connects (HTTPS too, before TLS) through this attribute.
            made._create_connection = lambda address, *args: _connect_checked(  # type: ignore[attr-defined]
                address, *args, check=self.check, on_socket=self.on_socket
            )
            return made

        return connection


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connections: _Connections):
        super().__init__()
        self.connections = connections

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.connections.maker(http.client.HTTPConnection), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connections: _Connections, context: ssl.SSLContext | None):
        super().__init__(context=context)
        self.connections = connections

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.connections.maker(http.client.HTTPSConnection), req, context=self._context)  # type: ignore[attr-defined]


def opener(
    *handlers: Any,
    address_check: AddressCheck | None = None,
    tls_context: ssl.SSLContext | None = None,
    on_socket: Callable[[socket.socket], None] | None = None,
) -> urllib.request.OpenerDirector:
    """urllib's opener without proxies, redirects or schemes but http and https. address_check
    judges every address connected to; tls_context verifies https servers; on_socket (a Watch's
    append) is shown each connection's socket before it connects."""
    connections = _Connections(address_check, on_socket)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        NoRedirects,
        _NoFile,
        _NoFTP,
        _NoData,
        _HTTPHandler(connections),
        _HTTPSHandler(connections, tls_context),
        *handlers,
    )


# --- an exchange ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: email.message.Message
    # A 2xx's whole body (up to the cap); of any other status, its start (exchange's error_bytes).
    body: bytes


def read_body(response: Any, *, max_bytes: int, watch: Watch, truncate: bool = False) -> bytes:
    """The response's body as it streams (whatever has come, chunk by chunk): TooLarge past
    max_bytes (with truncate, its first max_bytes instead), so no more than that and a chunk is
    ever held; TimeoutError when the watch's deadline cut it off."""
    body = bytearray()
    try:
        while chunk := response.read1(min(READ_CHUNK_BYTES, max_bytes + 1 - len(body))):
            body += chunk
            if len(body) > max_bytes:
                if truncate:
                    return bytes(body[:max_bytes])
                raise TooLarge(f"an answer of more than {max_bytes} bytes")
    except (OSError, http.client.HTTPException) as exc:
        if watch.expired:
            raise TimeoutError("cut off at the deadline") from exc
        raise
    if watch.expired:  # the body ended because the watchdog cut it, or came past the deadline
        raise TimeoutError("cut off at the deadline")
    return bytes(body)


def _timed_out(exc: BaseException, watch: Watch) -> bool:
    return watch.expired or isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)


def exchange(
    request: urllib.request.Request,
    *,
    watch: Watch,
    max_bytes: int,
    handlers: Sequence[urllib.request.BaseHandler] = (),
    address_check: AddressCheck | None = None,
    tls_context: ssl.SSLContext | None = None,
    error_bytes: int = ERROR_BODY_BYTES,
) -> Answer:
    """Send request and read its answer within watch's deadline: the Answer whatever its status
    (a redirect is an answer like any other, never followed); TooLarge for a 2xx body past
    max_bytes, TimeoutError when the deadline cut the exchange off (or came before it), OSError
    or http.client.HTTPException when the server could not be reached or spoke no HTTP. Of an
    answer that is not a 2xx, the body is its first error_bytes (0: not read at all).
    handlers (authentication) may send the request again, to the same URL only."""
    if watch.remaining() <= 0:
        raise TimeoutError("the exchange's deadline has passed")
    mark = watch.mark()
    way_out = opener(*handlers, address_check=address_check, tls_context=tls_context, on_socket=watch.append)
    try:
        try:
            response: Any = way_out.open(request, timeout=watch.remaining())  # noqa: S310 - http and https only
        except urllib.error.HTTPError as error:  # 3xx to 5xx: an answer too
            response = error
        except (OSError, http.client.HTTPException) as exc:
            if _timed_out(exc, watch):
                raise TimeoutError("cut off at the deadline") from exc
            raise
        with response:
            status = response.status
            if 200 <= status < 300:
                body = read_body(response, max_bytes=max_bytes, watch=watch)
            elif error_bytes > 0:  # its start is all it is worth
                body = read_body(response, max_bytes=error_bytes, watch=watch, truncate=True)
            else:
                body = b""
            return Answer(status, response.headers, body)
    finally:
        watch.release(mark)
