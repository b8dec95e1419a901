"""Where outbound webhooks may go: public addresses only, unless private ones are allowed.

A subscriber's URL is someone else's input, POSTed to from inside our network, so it must not
reach loopback, private, link-local (cloud metadata) or otherwise reserved addresses (SSRF).
The host is resolved once per attempt, every address it resolves to must be public, and the
request goes to that very address (the URL keeps its host name for the ``Host`` header and for
TLS), so a DNS answer that changes between the check and the connection cannot slip through.
``TASKHUB_WEBHOOK_ALLOW_PRIVATE=true`` lifts the rule (local development, tests).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit


class EgressRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    """What to connect to for ``url``: the URL with the address in place of the host name."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def literal_is_public(host: str) -> bool:
    """``False`` only for a host written as a non-public IP address (names are checked later)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True  # a name
    return _public(host.strip("[]"))


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:  # not an address we can judge: not one we may reach
        return False


def target(url: str, *, allow_private: bool) -> Target:
    """Resolve ``url``'s host and pin the request to its address; ``EgressRefused`` if private."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if allow_private:
        return Target(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)  # OSError: try again later
    addresses = [str(info[4][0]) for info in found]
    private = [a for a in addresses if not _public(a)]
    if not addresses or private:
        raise EgressRefused(f"{host} resolves to a non-public address ({', '.join(private)})")
    address = addresses[0]
    userinfo, _, host_port = parts.netloc.rpartition("@")
    netloc = f"[{address}]" if ":" in address else address
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    pinned = urlunsplit(parts._replace(netloc=netloc))
    return Target(pinned, {"host": host_port}, {"sni_hostname": host})
