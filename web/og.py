"""/og.png: the current card as a 1200 x 630 PNG for link previews, and the meta of `/`.

Discord, Slack and X do not render SVG in link previews, so the card web/svg.py draws
(one look everywhere) is placed on a 1200 x 630 canvas and rasterised by resvg (the
`resvg-py` wheel: no system cairo, wheels for linux amd64 and arm64).

Size rules this follows:
- Open Graph / Meta, "Images in Link Shares"
  (developers.facebook.com/docs/sharing/webmasters/images):
  use images of at least 1200 x 630 px for the best display on high-resolution devices,
  as close to 1.91:1 as possible so the preview shows them without cropping (600 x 315 at
  the least for the large layout).
- X cards (developer.x.com/en/docs/x-for-websites/cards/overview/summary-card-with-large-image):
  `twitter:card` `summary_large_image` takes an image of 2:1 aspect, at least 300 x 157 and
  at most 4096 x 4096 and 5 MB, JPG/PNG/WEBP/GIF: SVG is not supported. 1200 x 630 is
  within 2 % of 2:1, which X crops to without losing the card.

What must stay true: a render never runs on the event loop (it takes tens of ms) and at
most one runs at a time (a burst of crawlers cannot take every core); the PNG is cached per
document version and theme, so the same version is rendered once.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections import OrderedDict
from collections.abc import Callable

import resvg_py
from starlette.requests import Request
from starlette.responses import Response

from shared import providers
from shared.document import Document
from web.art import ArtCache
from web.hub import Hub
from web.options import OptionError, ViewOptions, parse_options
from web.svg import PALETTES, _text, pick_image, render_card, status_label
from web.titles import shown_title

WIDTH, HEIGHT = 1200, 630
CARD_W, CARD_H = 640, 120  # the "wide" layout of web/svg.py
SCALE = 1.6875  # 640 -> 1080: 60 px margins left and right
CACHED_RENDERS = 8
FONT = "Helvetica,Arial,'DejaVu Sans',sans-serif"

Render = Callable[[str], bytes]
# The card's bar is scaled by a CSS transform (for its animation), which resvg does not
# apply: a still image gets the scaled width itself.
BAR = re.compile(
    r'(class="a bar" x="[\d.]+" y="[\d.]+" width=")([\d.]+)("[^>]*?scaleX\()([\d.]+)\)'
)


def still_bar(card: str) -> str:
    def scaled(m: re.Match[str]) -> str:
        width = float(m.group(2)) * float(m.group(4))
        return f"{m.group(1)}{width:.1f}{m.group(3)}1)"

    return BAR.sub(scaled, card)


def rasterise(svg: str) -> bytes:
    """PNG bytes of an SVG of WIDTH x HEIGHT (resvg keeps the SVG's own size)."""
    return bytes(resvg_py.svg_to_bytes(svg_string=svg))


def attribution(document: Document) -> str | None:
    """The provider's name and the item's page there, per Spotify's Design Guidelines: an
    item read from Spotify carries Spotify's name and where it lives on Spotify."""
    song = document["song"]
    if song is None or document["demo"]:
        return None
    found = providers.info(song.get("provider", "spotify"))
    url = song.get("url") or song.get("spotifyUrl")
    if found is None:
        return None
    where = url.split("://", 1)[-1] if url else None
    if not found.is_a_site:  # a pushed item: its own page, if the player named one
        return where
    return f"On {found.label}" + (f" · {where}" if where else "")


def og_svg(document: Document, theme: str, art: str | None, now_ms: int) -> str:
    """The 1200 x 630 canvas: the wide card, scaled, centred, and the attribution under it."""
    options = ViewOptions(theme="dark" if theme == "dark" else "light", size="wide")
    card = still_bar(render_card(document, options, art, now_ms))
    palette = PALETTES[options.theme]
    y = (HEIGHT - CARD_H * SCALE) / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{palette["bg"]}"/>',
        f'<text x="60" y="{y - 40:g}" font-family="{FONT}" font-size="30" '
        f'fill="{palette["text"]}">{_text(status_label(document, now_ms), 60)}</text>',
        f'<g transform="translate(60,{y:g}) scale({SCALE})">{card}</g>',
    ]
    credit = attribution(document)
    if credit:
        parts.append(
            f'<text x="60" y="{y + CARD_H * SCALE + 64:g}" font-family="{FONT}" font-size="26" '
            f'fill="{palette["muted"]}">{_text(credit, 80)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


class OgImage:
    """The /og.png route: renders off the loop, one at a time, cached per version+theme."""

    def __init__(self, hub: Hub, art: ArtCache, render: Render = rasterise) -> None:
        self.hub, self.art, self.render = hub, art, render
        self.cache: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self.lock = asyncio.Lock()
        self.renders = 0  # how many renders ran (tests and the bench read it)

    async def png(self, document: Document, theme: str) -> bytes:
        key = (document["version"], theme)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        async with self.lock:  # one render at a time; a waiter may find it done
            hit = self.cache.get(key)
            if hit is not None:
                return hit
            url = pick_image(document["song"])
            art = await self.art.data_uri(url) if url else None
            svg = og_svg(document, theme, art, int(time.time() * 1000))
            self.renders += 1
            png = await asyncio.to_thread(self.render, svg)
            self.cache[key] = png
            while len(self.cache) > CACHED_RENDERS:
                self.cache.popitem(last=False)
            return png

    async def endpoint(self, request: Request) -> Response:
        try:
            options = parse_options(request.query_params, default_theme="light")
        except OptionError as exc:
            return Response(f"{exc}\n", 400, media_type="text/plain; charset=utf-8")
        theme = "dark" if options.theme == "dark" else "light"
        body = await self.png(self.hub.document, theme)
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-cache"})


def meta_tags(document: Document, base: str) -> str:
    """The Open Graph and X card meta of `/`, absolute URLs from `base` (scheme://host)."""
    song = document["song"]
    if song is None:
        title, description = "Now playing", "Nothing playing right now."
    else:
        title = f"{shown_title(song, ViewOptions())} – {', '.join(song['artists'])}"
        description = status_label(document, int(time.time() * 1000))
        if song["album"]:
            description += f" · {song['album']}"
    image = f"{base}/og.png?v={document['version']}"
    tags = [
        ("property", "og:type", "website"),
        ("property", "og:title", title),
        ("property", "og:description", description),
        ("property", "og:url", f"{base}/"),
        ("property", "og:image", image),
        ("property", "og:image:type", "image/png"),
        ("property", "og:image:width", str(WIDTH)),
        ("property", "og:image:height", str(HEIGHT)),
        ("property", "og:image:alt", f"{description}: {title}"),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:title", title),
        ("name", "twitter:description", description),
        ("name", "twitter:image", image),
    ]
    return "".join(
        f'<meta {kind}="{name}" content="{html.escape(value, quote=True)}">\n  '
        for kind, name, value in tags
    )
