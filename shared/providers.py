"""Every listening provider the instance knows, as data: one row each.

The views, the widget (through `web/static/providers.json`, checked against this table by
a test), `/metrics`, the art policy and the configuration read these rows, so no module
keeps its own list of provider names. Adding a provider: a row here, a folder under
`poller/providers/`, a simulator module and its configuration section (README,
"Architecture").
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.document import Provider


@dataclass(frozen=True)
class ProviderInfo:
    name: Provider
    label: str  # shown on the card's corner and the owner's pages
    knows_position: bool  # reports a position: the card draws a progress bar
    knows_pause: bool  # reports a pause as such (else a pause looks like the item ending)
    live: bool  # reports what plays now (False: only what was scrobbled, after the fact)
    image_hosts: tuple[str, ...] = ()  # regexes of the https hosts its art comes from
    costs_budget: bool = False  # its calls count against SPOTIFY_DAILY_BUDGET
    is_a_site: bool = True  # items live on the provider's site ("On Spotify"); push: no site


SPOTIFY_IMAGES = (r"i\.scdn\.co", r"mosaic\.scdn\.co", r"image-cdn-[a-z0-9-]+\.spotifycdn\.com")
# The Cover Art Archive redirects to archive.org, which redirects to its storage hosts
# (ia<n>.us.archive.org); no other archive.org host serves its art.
COVER_ART_ARCHIVE = (r"coverartarchive\.org", r"archive\.org", r"ia[0-9]+\.us\.archive\.org")

PROVIDERS: tuple[ProviderInfo, ...] = (
    ProviderInfo("spotify", "Spotify", True, True, True, SPOTIFY_IMAGES, costs_budget=True),
    ProviderInfo("lastfm", "Last.fm", False, False, True, (r"lastfm\.freetls\.fastly\.net",)),
    ProviderInfo("listenbrainz", "ListenBrainz", False, False, True, COVER_ART_ARCHIVE),
    # Lanyard: Discord's Spotify activity; a position from its timestamps, no pause (a paused
    # track is no activity), art on Spotify's image CDN.
    ProviderInfo("lanyard", "Lanyard", True, False, True, SPOTIFY_IMAGES),
    # Pushed to the ingest routes: a position from the moment of receipt (0 when the client
    # names none), pauses told by Web Scrobbler and /api/ingest; its art is any https image
    # on a host the art policy accepts (web/ingest/), so it adds no host of its own.
    ProviderInfo("push", "Pushed", True, True, True, is_a_site=False),
)
BY_NAME: dict[str, ProviderInfo] = {p.name: p for p in PROVIDERS}


def info(name: str | None) -> ProviderInfo | None:
    return BY_NAME.get(name or "")


def label(name: str | None) -> str:
    found = info(name)
    return found.label if found else ""


def knows_pause(name: str | None) -> bool:
    """Whether a paused item of this provider is shown as paused (else as last played).
    A document written before `provider` existed was Spotify's."""
    found = info(name or "spotify")
    return found is None or found.knows_pause


def image_hosts() -> str:
    """One regex of every provider's art hosts, for the art policy."""
    return "|".join(host for p in PROVIDERS for host in p.image_hosts)


def knows_position(name: str | None) -> bool:
    """Whether a song of this provider carries a position worth drawing (unknown: yes,
    as a document written before `provider` existed was Spotify's)."""
    found = info(name or "spotify")
    return found is None or found.knows_position
