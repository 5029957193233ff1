"""Hostile HTTP peers on 127.0.0.1 for the tests of outbound requests: real sockets, each request
read whole, then answered by a script (a huge answer, a trickle, a redirect, a TLS handshake that
never ends), or passed on to an honest server for the requests the test leaves alone."""

import contextlib
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

# What a huge answer sends, over and over: one buffer, so the peer's own memory stays flat and a
# test measuring its client's memory measures the client.
CHUNK = b"x" * (64 * 1024)
T = TypeVar("T")
HUGE_BYTES = 64 * 1024 * 1024
# What a bounded read may hold at most, whatever the answer's size: the cap, buffers, the parse.
MEMORY_BOUND_BYTES = 8 * 1024 * 1024
# What may have left the peer before the client stopped reading: the cap plus the kernel's buffers.
SENT_BOUND_BYTES = 24 * 1024 * 1024


def read_request(client: socket.socket) -> bytes:
    """One HTTP request, head and body (by its Content-Length), or what came before the client stopped."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def soap_action(request: bytes) -> str:
    """The operation a SOAP request asks for: the first element of its Body."""
    body = request.partition(b"Body")[2].partition(b"<")[2]
    return body.split(b">")[0].split()[0].split(b":")[-1].rstrip(b"/").decode()


Answer = Callable[["Peer", socket.socket, bytes], None]


class Peer:
    """A TCP server on 127.0.0.1: every connection's request is kept (requests) and answered by
    answer(peer, client, request); sent counts the bytes of the answers' bodies that went out.
    With http False, the request is whatever the client sends first (a TLS ClientHello)."""

    def __init__(self, answer: Answer, *, http: bool = True) -> None:
        self.answer = answer
        self.http = http
        self.requests: list[bytes] = []
        self.connections = 0
        self.sent = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError):
            request = read_request(client) if self.http else client.recv(65536)
            self.requests.append(request)
            self.answer(self, client, request)

    def close(self) -> None:
        self.sock.close()


def huge(content_type: bytes = b"application/soap+xml", status: bytes = b"200 OK") -> Answer:
    """An answer of HUGE_BYTES, as fast as the client takes it."""

    def answer(peer: Peer, client: socket.socket, request: bytes) -> None:
        head = f"HTTP/1.1 {status.decode()}\r\nContent-Type: {content_type.decode()}\r\n"
        client.sendall(f"{head}Content-Length: {HUGE_BYTES}\r\n\r\n".encode())
        while peer.sent < HUGE_BYTES:
            client.sendall(CHUNK)
            peer.sent += len(CHUNK)

    return answer


def trickle(head: bytes, *, every_s: float = 0.05, count: int = 4000) -> Answer:
    """head at once, then one byte every every_s: each byte well within any socket timeout, the
    whole taking minutes."""

    def answer(peer: Peer, client: socket.socket, request: bytes) -> None:
        client.sendall(head)
        for _ in range(count):
            client.sendall(b" ")
            peer.sent += 1
            time.sleep(every_s)

    return answer


def tls_handshake_trickle(peer: Peer, client: socket.socket, request: bytes) -> None:
    """What a TLS client reads first, a handshake record, announced 16 KB long and sent one byte
    at a time (for a Peer with http False: it answers the ClientHello)."""
    client.sendall(b"\x16\x03\x03\x40\x00")
    for _ in range(16 * 1024):
        client.sendall(b"\x00")
        peer.sent += 1
        time.sleep(0.05)


def redirect(status: int, location: str) -> Answer:
    def answer(peer: Peer, client: socket.socket, request: bytes) -> None:
        reason = {301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect"}
        client.sendall(
            f"HTTP/1.1 {status} {reason.get(status, 'Permanent Redirect')}\r\nLocation: {location}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )

    return answer


def relay_to(port: int) -> Answer:
    """Pass the request on to the honest server at port and its answer back."""

    def answer(peer: Peer, client: socket.socket, request: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port)) as upstream:
            upstream.sendall(request)
            while chunk := upstream.recv(65536):
                client.sendall(chunk)

    return answer


def slowly(answer: Answer, *, delay_s: float) -> Answer:
    """answer, after delay_s: one slow answer within any timeout, several adding up past it."""

    def slow(peer: Peer, client: socket.socket, request: bytes) -> None:
        time.sleep(delay_s)
        answer(peer, client, request)

    return slow


def for_actions(actions: dict[str, Answer], otherwise: Answer) -> Answer:
    """A SOAP service: actions' answers for the operations they name, otherwise's for the rest."""

    def answer(peer: Peer, client: socket.socket, request: bytes) -> None:
        actions.get(soap_action(request), otherwise)(peer, client, request)

    return answer


def read_boundedly(peer: "Peer", call: Callable[[], T]) -> tuple[T, float]:
    """call() against the peer's huge answer, held to the bounds: the memory it held at its peak,
    and what left the peer before the client stopped reading. Its result and its seconds."""
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = call()
        elapsed_s = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND_BYTES, f"{peak} bytes held for a {HUGE_BYTES}-byte answer"
    time.sleep(0.2)  # the peer notices the closed connection
    assert peer.sent < SENT_BOUND_BYTES
    return result, elapsed_s
