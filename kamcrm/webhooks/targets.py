"""SSRF guard: a webhook may only reach public addresses unless an administrator allowed private ones.

Checked when a subscription is saved and again before every send (the name may resolve elsewhere by
then); the send then connects to the very address that was checked, so a DNS change between the check
and the connection cannot redirect it.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALLOWED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line
    address: str  # the checked IP address the request connects to


def _is_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Parse and resolve `url`; raise ValidationError({"target_url": ...}) when it may not be called."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError({"target_url": _("Enter a valid URL.")}) from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValidationError({"target_url": _("Only http:// and https:// addresses can receive webhooks.")})
    host = parts.hostname
    if not host:
        raise ValidationError({"target_url": _("Enter a valid URL.")})
    if parts.username or parts.password:
        raise ValidationError({"target_url": _("The address must not contain a user name or password.")})
    scheme = parts.scheme.lower()
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValidationError({"target_url": _("The host name %(host)s cannot be resolved.") % {"host": host}}) from None
    addresses = []
    for info in infos:
        raw = info[4][0].split("%", 1)[0]  # drop an IPv6 zone id
        ip = ipaddress.ip_address(raw)
        if _is_private(ip) and not allow_private:
            raise ValidationError({"target_url": _(
                "%(host)s resolves to %(address)s, a loopback, link-local, private or reserved address; "
                "webhooks may only be sent there if an administrator allows private targets.")
                % {"host": host, "address": raw}})
        addresses.append(raw)
    if not addresses:
        raise ValidationError({"target_url": _("The host name %(host)s cannot be resolved.") % {"host": host}})
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
