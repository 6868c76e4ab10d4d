"""The customer's address for rate limits: the peer's, unless the peer is a configured trusted proxy.

A forwarding header is anyone's to write, so it is believed only from a trusted proxy, and then read from the
right: each proxy appends the address it saw, so the last entry that is not itself a trusted proxy is the
customer's; whatever the customer put further left is their own claim and ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def _networks(trusted: tuple[str, ...]) -> tuple[list[Network], set[str]]:
    """Trusted entries as networks; entries that are not addresses (a test client's "testclient") as names."""
    networks, names = [], set()
    for entry in trusted:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(entry.strip())
    return networks, names


def is_trusted(address: str, trusted: tuple[str, ...]) -> bool:
    networks, names = _networks(trusted)
    if address in names:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    settings = request.app.state.settings
    peer = request.client.host if request.client else "unknown"
    trusted = tuple(settings.trusted_proxies)
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get(settings.client_address_header, "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
