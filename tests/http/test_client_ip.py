"""The client's IP: forwarding headers count only when the peer is a trusted proxy."""

from __future__ import annotations

from litestar import Request

from core.http.client_ip import client_ip, parse_proxies


def request(peer: str, **headers: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        "client": (peer, 1234),
        "app": None,
    }
    return Request(scope)  # type: ignore[arg-type]


PROXIES = parse_proxies(["10.0.0.0/8", "192.168.1.1", " "])


def test_untrusted_peer_is_the_client():
    """Without trusted proxies (or from an untrusted peer) X-Forwarded-For is ignored: it can be forged."""
    assert client_ip(request("203.0.113.9", x_forwarded_for="1.2.3.4"), ()) == "203.0.113.9"
    assert client_ip(request("203.0.113.9", x_forwarded_for="1.2.3.4"), PROXIES) == "203.0.113.9"


def test_trusted_proxy_chain_is_walked_from_the_right():
    """Through trusted proxies the first untrusted hop from the right is the client, not a forged one."""
    forwarded = "6.6.6.6, 198.51.100.7, 10.1.2.3"
    assert client_ip(request("10.0.0.1", x_forwarded_for=forwarded), PROXIES) == "198.51.100.7"


def test_cloudflare_header_only_when_the_proxies_are_cloudflare():
    """CF-Connecting-IP is believed from a trusted proxy only, and only when the deployment says its
    proxies are Cloudflare's: otherwise a client behind an ordinary proxy would choose its address
    (and get past every per-IP limit)."""
    chosen = request("192.168.1.1", cf_connecting_ip="198.51.100.8", x_forwarded_for="203.0.113.8")
    assert client_ip(chosen, PROXIES) == "203.0.113.8"
    assert client_ip(chosen, PROXIES, cloudflare=True) == "198.51.100.8"
    untrusted = request("203.0.113.9", cf_connecting_ip="198.51.100.8")
    assert client_ip(untrusted, PROXIES, cloudflare=True) == "203.0.113.9"


def test_all_hops_trusted_or_header_missing():
    """Only proxies in the chain gives the leftmost hop; no header gives the peer."""
    assert client_ip(request("10.0.0.1", x_forwarded_for="10.0.0.5, 10.0.0.6"), PROXIES) == "10.0.0.5"
    assert client_ip(request("10.0.0.1"), PROXIES) == "10.0.0.1"


def test_every_forwarded_line_counts_in_order():
    """A proxy that adds its own X-Forwarded-For line (rather than extending the client's) leaves the
    client's forged line first: the lines are read as one chain, so the forgery is still on the left."""
    scope = {
        "type": "http", "method": "GET", "path": "/", "query_string": b"", "app": None,
        "client": ("10.0.0.1", 1234),
        "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"198.51.100.7, 10.1.2.3")],
    }
    assert client_ip(Request(scope), PROXIES) == "198.51.100.7"  # type: ignore[arg-type]
