"""HTTP requests the product makes to addresses users gave it (webhook receivers, cameras'
still-image URLs): no proxy from the environment, and no redirect followed, so a request goes
exactly where the URL says and nowhere a server's answer points to. With an address check, a
request connects only to an address the check accepts, judged on the very address it connects to:
a host name that resolves to a public address when checked and to this machine a moment later
(DNS rebinding) is refused."""

import contextlib
import http.client
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

# Why this server will not connect to (host name, resolved address), or None.
AddressCheck = Callable[[str, str], str | None]


class RefusedAddress(OSError):
    """The address check refused where the host name leads; its message says why."""


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # a 3xx is the server's answer, not a place to go


def _connect_checked(
    address: tuple[str, int], timeout: float | None = None, source_address: Any = None, *, check: AddressCheck | None
) -> socket.socket:
    """socket.create_connection, checking each address the host resolves to before connecting to it."""
    host, port = address
    failure: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if check is not None and (problem := check(host, str(sockaddr[0]))):
            raise RefusedAddress(problem)
        sock = socket.socket(family, kind, proto)
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
    """Makes the handlers' connections: each connects through the address check, and its socket
    (the TLS one for https) is shown to on_socket once connected, so it can be cut off later,
    while the headers or the body are read."""

    def __init__(self, check: AddressCheck | None, on_socket: Callable[[socket.socket], None] | None) -> None:
        self.check = check
        self.on_socket = on_socket

    def maker(self, connection_class: type[http.client.HTTPConnection]) -> Callable[..., http.client.HTTPConnection]:
        def connection(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            made = connection_class(host, **kwargs)
            # http.client connects (HTTPS too, before TLS) through this attribute.
            made._create_connection = lambda address, *args: _connect_checked(address, *args, check=self.check)  # type: ignore[attr-defined]
            connect = made.connect

            def connect_and_show() -> None:
                connect()
                if self.on_socket is not None and made.sock is not None:
                    self.on_socket(made.sock)

            made.connect = connect_and_show  # type: ignore[method-assign]
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
    """urllib's opener without proxies or redirects. address_check judges every address connected
    to; tls_context verifies https servers; on_socket gets each connection's socket once connected."""
    connections = _Connections(address_check, on_socket)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        NoRedirects,
        _HTTPHandler(connections),
        _HTTPSHandler(connections, tls_context),
        *handlers,
    )


@contextlib.contextmanager
def cut_off_after(seconds: float) -> Iterator[list[socket.socket]]:
    """A list to give an opener as on_socket=list.append: at the deadline every socket in it is
    shut down, which wakes whatever reads from it (headers or body; urllib drops the connection's
    own reference once the headers are in, the response still reads from the socket). Socket
    timeouts bound each wait for a byte, not the whole: a server trickling its answer would
    otherwise hold the reader for as long as it likes. A socket closed meanwhile is skipped."""
    sockets: list[socket.socket] = []

    def cut_off() -> None:
        for sock in list(sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(seconds, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield sockets
    finally:
        watchdog.cancel()
