"""Where cargowatch may send requests of its own (DCSA subscription callbacks, referral
webhooks, TAXII pulls): a partner's address, not this machine or its private network, unless
the operator allows private addresses (CARGOWATCH_ALLOW_PRIVATE_CALLBACKS, for partners on the
same internal network). Checked when the request is made, on every address the name resolves
to, so a name that later points inside is refused too."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse

from cargowatch.config import get_settings
from cargowatch.exceptions import InvalidInput


def check_address(url: str) -> None:
    """InvalidInput when url is not http(s), or reaches a loopback, private, link-local,
    multicast or reserved address while those are not allowed."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidInput(f"{url[:200]}: expected an http or https address")
    if get_settings().allow_private_callbacks:
        return
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidInput(f"{parsed.hostname}: the name does not resolve") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global or ip.is_multicast:
            raise InvalidInput(
                f"{parsed.hostname} is a private address ({ip}): cargowatch sends nothing inside "
                "its own network unless CARGOWATCH_ALLOW_PRIVATE_CALLBACKS is set"
            )
