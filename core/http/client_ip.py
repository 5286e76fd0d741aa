"""The client's IP: forwarding headers are believed only when the peer is a configured proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


@lru_cache(maxsize=4096)
def is_trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    """Cached: the same few load-balancer addresses ask on every request, and parsing an address costs
    more than the rest of the lookup (bounded, so client-chosen strings cannot grow it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_ip(connection: ASGIConnection, proxies: tuple[Network, ...], cloudflare: bool = False) -> str:
    """Walk X-Forwarded-For from the right past trusted proxies; the first untrusted hop is the client.

    ``CF-Connecting-IP`` counts only when the deployment says its proxies are Cloudflare's
    (``server.trust_cf_connecting_ip``): any other proxy passes the header on from the client as is.
    """
    peer = connection.client.host if connection.client else "unknown"
    if not proxies or not is_trusted(peer, proxies):
        return peer
    cf = connection.headers.get("cf-connecting-ip") if cloudflare else None
    if cf:
        return cf.strip()
    # Every X-Forwarded-For line, in order: a proxy that appends its own line (rather than extending
    # the client's) puts the address it saw last, and the client's own line first.
    lines = connection.headers.getall("x-forwarded-for", [])
    hops = [hop.strip() for line in lines for hop in line.split(",") if hop.strip()]
    if not hops:
        return peer
    for hop in reversed(hops):
        if not is_trusted(hop, proxies):
            return hop
    return hops[0]
