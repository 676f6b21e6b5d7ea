"""Which URLs the server may fetch album art from: a pure decision.

`/embed.svg` makes the server fetch the document's image URL, so that URL must never
reach anything but an image CDN: not Redis on loopback, not an admin page on the LAN,
not a metadata service on a link-local address. Allowed are the image hosts of the
providers (https on the default port only) and the exact scheme, host and port of each
configured provider base URL (so the simulators and test doubles keep working). A
redirect is followed by hand and each hop is checked again here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared import providers

# Every provider's image hosts (shared/providers.py): Spotify's CDN, Last.fm's, the Cover
# Art Archive (which redirects to archive.org's hosts).
IMAGE_HOSTS = re.compile(providers.image_hosts())
Origin = tuple[str, str, int]  # scheme, lower-case host, port


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an absolute http(s) URL; None when it is none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified IPs."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class ArtPolicy:
    providers: frozenset[Origin] = frozenset()

    @classmethod
    def from_urls(cls, base_urls: Iterable[str | None]) -> ArtPolicy:
        origins = (origin_of(u) for u in base_urls if u)
        return cls(frozenset(o for o in origins if o is not None))

    @classmethod
    def from_settings(cls, settings: object) -> ArtPolicy:
        """The configured providers' base URLs; Last.fm's and ListenBrainz's only where
        the settings have them (read with defaults, so older settings work too)."""
        names = ("api_url", "lastfm_api_url", "listenbrainz_api_url", "lanyard_api_url")
        return cls.from_urls(getattr(settings, name, None) for name in names)

    def is_provider(self, url: str) -> bool:
        """The exact origin of a configured provider: fetched whatever its address."""
        return origin_of(url) in self.providers

    def allows(self, url: str) -> bool:
        """Whether `url` may be fetched at all (the address check comes on top for the
        image hosts: see `is_public_address`)."""
        if self.is_provider(url):
            return True
        origin = origin_of(url)
        return (
            origin is not None
            and origin[0] == "https"
            and origin[2] == 443
            and IMAGE_HOSTS.fullmatch(origin[1]) is not None
        )
