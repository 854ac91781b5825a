"""The network a request came from, as much as the holder is told: an IPv4 /24 or an IPv6 /48, never the address.

Pure functions, no Flask and no wallet imports: the citizens domain (where a session was opened) and the
verification domain (where a look came from) both use them.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

__all__ = ["truncate_ip"]


def truncate_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    return _truncate_ip(ip)


@lru_cache(maxsize=4096)  # verifiers repeat (a bank's counter scans all day from one address)
def _truncate_ip(ip: str) -> str | None:
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
