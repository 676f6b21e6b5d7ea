"""Which URLs the server may fetch album art from: a pure decision.

`/embed.svg` makes the server fetch the document's image URL, so that URL must never
reach anything but an image CDN: not Redis on loopback, not an admin page on the LAN,
not a metadata service on a link-local address. Allowed are the image hosts of the
providers (https on the default port only) and the exact scheme, host and port of each
configured provider base URL (so the simulators and test doubles keep working). A
redirect is followed by hand and each hop is checked again here; it may lead only to an
image path of an allowed host (`REDIRECT_TARGETS`) or to a configured provider's origin.
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

# Where a redirect may lead: (host, path) patterns of the image paths on the allowed hosts.
# The Cover Art Archive answers coverartarchive.org/release/<mbid>/<image> with a 307 to
# archive.org/download/mbid-<mbid>/<file>, which answers 302 with the file's place on one
# of the Archive's storage hosts, ia<n>.us.archive.org/<n>/items/mbid-<mbid>/<file>. The
# CDNs answer art in place; a redirect among them still has to name an image.
MBID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
IMAGE_FILE = r"[^/]+\.(?:jpe?g|png|gif|webp)"
REDIRECT_TARGETS: tuple[tuple[str, str], ...] = (
    (r"coverartarchive\.org", rf"/release(?:-group)?/{MBID}/[^/]+"),
    (r"archive\.org", rf"/download/mbid-{MBID}/{IMAGE_FILE}"),
    (r"ia[0-9]+\.us\.archive\.org", rf"/[0-9]+/items/mbid-{MBID}/{IMAGE_FILE}"),
    (r"i\.scdn\.co", r"/image/[0-9a-f]+"),
    (r"image-cdn-[a-z0-9-]+\.spotifycdn\.com", r"/image/[0-9a-f]+"),
    (r"mosaic\.scdn\.co", r"/[0-9]+/[0-9a-f]+"),
    (r"lastfm\.freetls\.fastly\.net", rf"/i/u/[0-9a-z]+/{IMAGE_FILE}"),
)
_REDIRECTS = tuple((re.compile(h), re.compile(p, re.IGNORECASE)) for h, p in REDIRECT_TARGETS)


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

    def allows_redirect(self, url: str) -> bool:
        """Whether a redirect may lead to `url`: a configured provider's origin, or an
        image path (`REDIRECT_TARGETS`) of an allowed image host."""
        if self.is_provider(url):
            return True
        if not self.allows(url):
            return False
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return any(h.fullmatch(host) and p.fullmatch(parts.path) for h, p in _REDIRECTS)

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
