"""The outbound guard itself: which addresses are public (IPv4 embedded in IPv6 judged as IPv4),
the schemes its opener speaks, and its one deadline, which also cuts a connection still being
made. Addresses here are only parsed, never connected to; connections go to 127.0.0.1 only."""

import socket
import time
import urllib.error

import pytest

from vas_project import outbound
from webhooks.validators import connection_problem

# IPv6 forms that carry an IPv4 address: IPv4-mapped, IPv4-translated (SIIT), NAT64's well-known
# prefix, 6to4 and the deprecated IPv4-compatible form. Each is judged by its IPv4 address.
EMBEDDINGS = {
    "mapped": "::ffff:{}",
    "translated": "::ffff:0:{}",
    "nat64": "64:ff9b::{}",
    "6to4": "2002:{}::1",
    "compatible": "::{}",
}
PRIVATE_IPV4 = ["127.0.0.1", "10.1.2.3", "192.168.1.20", "169.254.169.254", "172.16.0.1", "100.64.0.1", "0.0.0.0"]  # noqa: S104 - only parsed
PUBLIC_IPV4 = ["8.8.8.8", "93.184.216.34"]


def embed(form: str, ipv4: str) -> str:
    if form == "6to4":
        a, b, c, d = (int(part) for part in ipv4.split("."))
        return f"2002:{a:02x}{b:02x}:{c:02x}{d:02x}::1"
    return EMBEDDINGS[form].format(ipv4)


@pytest.mark.parametrize("form", EMBEDDINGS)
@pytest.mark.parametrize("ipv4", PRIVATE_IPV4)
def test_an_ipv6_address_embedding_a_private_ipv4_address_is_private(form, ipv4):
    address = embed(form, ipv4)
    assert connection_problem("receiver.example", address) is not None, address
    assert not outbound.is_public_address(address), address


@pytest.mark.parametrize("form", [form for form in EMBEDDINGS if form != "compatible"])
@pytest.mark.parametrize("ipv4", PUBLIC_IPV4)
def test_an_ipv6_address_embedding_a_public_ipv4_address_is_public(form, ipv4):
    address = embed(form, ipv4)
    assert connection_problem("receiver.example", address) is None, address
    assert outbound.is_public_address(address), address


@pytest.mark.parametrize("ipv4", PUBLIC_IPV4)
def test_the_deprecated_ipv4_compatible_form_is_never_public(ipv4):
    # ::a.b.c.d leads nowhere on today's networks, whatever a.b.c.d is (RFC 4291 deprecated it).
    assert connection_problem("receiver.example", f"::{ipv4}") is not None


@pytest.mark.parametrize(
    "address",
    [
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo (a relay's and an obfuscated client's IPv4 inside)
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, its client 10.0.0.1
        "64:ff9b:1::a00:1",  # NAT64's local-use prefix: a network's own translator
        "64:ff9b:1::808:808",
        "ff0e::1",  # multicast
        "ff02::1",
        "224.0.0.1",
        "fe80::1%eth0",
        "fc00::1",
        "::1",
        "::",
        "2001:db8::1",
    ],
)
def test_tunnels_local_translators_multicast_and_local_addresses_are_private(address):
    assert connection_problem("receiver.example", address) is not None
    assert not outbound.is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e"])
def test_public_addresses_are_public(address):
    assert connection_problem("receiver.example", address) is None
    assert outbound.is_public_address(address)


def test_a_host_in_the_allowed_list_may_be_anything(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["receiver.example"]
    assert connection_problem("receiver.example", "64:ff9b::7f00:1") is None


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://127.0.0.1/x", "data:text/plain,hello"])
def test_the_opener_speaks_only_http_and_https(url):
    with pytest.raises(urllib.error.URLError, match="only http and https"):
        outbound.opener().open(url, timeout=1)


@pytest.fixture
def full_listener():
    """A port on 127.0.0.1 whose accept queue is full: a new connection stays half made (SYN_SENT)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.settimeout(0.2)
        try:
            filler.connect(("127.0.0.1", port))
        except OSError:
            pass
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def test_a_connection_still_being_made_is_cut_at_the_deadline(full_listener):
    started = time.monotonic()
    with pytest.raises(OSError), outbound.cut_off_after(0.5) as watch:
        outbound.opener(on_socket=watch.append).open(f"http://127.0.0.1:{full_listener}/", timeout=10)
    assert time.monotonic() - started < 1.5


def test_no_connection_is_begun_after_the_deadline(full_listener):
    with outbound.cut_off_after(0.1) as watch:
        time.sleep(0.2)
        started = time.monotonic()
        with pytest.raises(OSError):
            outbound.opener(on_socket=watch.append).open(f"http://127.0.0.1:{full_listener}/", timeout=10)
        assert time.monotonic() - started < 0.5
