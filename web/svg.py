"""The README card as SVG. Pure: the document, the view options, the inlined art and the
clock in; one self-contained SVG string out.

GitHub's image proxy loads nothing from inside an SVG and runs no script, so the art
arrives as a data URI and the card *ticks by CSS alone*: the progress bar is an animation
over the whole track length started `-position` ms in the past (so it runs exactly the
remaining time), and a second one swaps "Now playing" for "Played just now" when the track
should have ended. What must stay true: the offsets are computed from the clock at render
time, so a rendered card is never reused for a later request (no ETag, no cache).
No `href`, `src` or `url()` other than `data:`; every text is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from shared import providers
from shared.document import Document, Song
from web.options import ViewOptions
from web.titles import shown_title

PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "bg": "#ffffff",
        "border": "#d0d7de",
        "title": "#1f2328",
        "text": "#59636e",
        "accent": "#1a7f37",
        "track": "#e5e8eb",
        "muted": "#8c959f",
    },
    "dark": {
        "bg": "#0d1117",
        "border": "#30363d",
        "title": "#e6edf3",
        "text": "#9198a1",
        "accent": "#3fb950",
        "track": "#21262d",
        "muted": "#6e7681",
    },
}
ART_TARGET_PX = 300
ART_BUDGET = 56_000  # characters of data URI; past it the card goes without art (< 64 KB)
FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif"
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    art: int  # side of the square art, px
    status: tuple[int, int]  # baseline y, font size
    title: tuple[int, int]
    artists: tuple[int, int]
    album: tuple[int, int] | None
    bar_y: int


LAYOUTS = {
    "normal": Layout(480, 120, 96, (30, 12), (56, 17), (77, 13), (95, 12), 104),
    "wide": Layout(640, 120, 96, (30, 12), (56, 17), (77, 13), (95, 12), 104),
    "compact": Layout(340, 72, 48, (22, 11), (41, 14), (56, 12), None, 63),
}


def _text(value: str, limit: int) -> str:
    value = XML_INVALID.sub("\ufffd", " ".join(value.split()))
    if len(value) > limit:
        value = value[: max(1, limit - 1)].rstrip() + "…"
    return escape(value, {'"': "&quot;", "'": "&apos;"})


def _chars(room_px: int, font_px: int) -> int:
    """How many characters of a proportional font fit in `room_px` (a safe average)."""
    return max(4, int(room_px / (font_px * 0.56)))


def ago(iso_or_ms: str | int | None, now_ms: int) -> str | None:
    """'12 min ago' style, from an ISO time or ms since the epoch."""
    if iso_or_ms is None:
        return None
    if isinstance(iso_or_ms, int):
        then = iso_or_ms
    else:
        try:
            then = int(datetime.fromisoformat(iso_or_ms.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    seconds = max(0, (now_ms - then) // 1000)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def pick_image(song: Song | None, target: int = ART_TARGET_PX) -> str | None:
    """The image closest to `target` px wide (Spotify's 300 rather than its 640)."""
    if song is None:
        return None
    sized = [i for i in song.get("images") or [] if i.get("url") and i.get("width")]
    if sized:
        return min(sized, key=lambda i: (abs((i["width"] or 0) - target), -(i["width"] or 0)))[
            "url"
        ]
    return song["albumImageUrl"]


def is_scrobbled(song: Song) -> bool:
    """A provider that knows no pause (the scrobblers): its items are playing or played."""
    return not providers.knows_pause(song.get("provider"))


def status_label(document: Document, now_ms: int) -> str:
    """Now playing / Paused / Last played · 4 min ago / Nothing playing yet."""
    song = document["song"]
    if song is None:
        return "Nothing playing yet"
    if song["source"] == "recent" or (is_scrobbled(song) and not song["isPlaying"]):
        when = ago(song["playedAt"], now_ms)
        return f"Last played · {when}" if when else "Last played"
    return "Now playing" if song["isPlaying"] else "Paused"


def paused_note(document: Document) -> str | None:
    """Spotify's quota pause, in UTC: an image has no viewer clock."""
    until = document.get("pausedUntil")
    if not until:
        return None
    return f"Spotify paused updates until {datetime.fromtimestamp(until / 1000, UTC):%H:%M} UTC"


@dataclass(frozen=True)
class Progress:
    position_ms: int
    duration_ms: int
    ticking: bool  # the bar moves, and the label swaps when the track should have ended
    ended: bool  # live, and by its duration the track has ended before the render


def progress(document: Document, now_ms: int) -> Progress | None:
    """None: no bar (nothing current, no duration: scrobbles). Only a fresh, playing
    current item ticks; paused, stale or paused-by-quota items stand still."""
    song = document["song"]
    if song is None or song["source"] != "current" or not song["durationMs"]:
        return None
    duration, position = song["durationMs"], song["progressMs"]
    if position is None:
        return None
    frozen = document["stale"] or bool(document.get("pausedUntil"))
    live = song["isPlaying"] and not frozen and song["progressAt"] is not None
    if live and song["progressAt"] is not None:
        position += max(0, now_ms - song["progressAt"])
    position = max(0, min(position, duration))
    return Progress(position, duration, live and position < duration, live and position >= duration)


def _palette_css(p: dict[str, str]) -> str:
    return (
        f".bg{{fill:{p['bg']};stroke:{p['border']}}}.t{{fill:{p['title']}}}"
        f".x{{fill:{p['text']}}}.m{{fill:{p['muted']}}}.a{{fill:{p['accent']}}}"
        f".k{{fill:{p['track']}}}"
    )


def _style(options: ViewOptions, motion: list[str]) -> str:
    if options.theme == "auto":
        css = _palette_css(PALETTES["light"])
        css += f"@media (prefers-color-scheme:dark){{{_palette_css(PALETTES['dark'])}}}"
    else:
        css = _palette_css(PALETTES[options.theme])
    if options.bg == "transparent":
        css += ".bg{fill:none;stroke:none}"
    elif options.bg:
        css += f".bg{{fill:{options.bg}}}"
    if options.accent:
        css += f".a{{fill:{options.accent}}}"
    css += "".join(motion)
    return f"<style>{css}</style>"


def _svg(layout: Layout, label: str, body: str, style: str) -> str:
    w, h = layout.width, layout.height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{_text(label, 120)}">'
        f"<title>{_text(label, 120)}</title>{style}{body}</svg>"
    )


def is_idle(document: Document, now_ms: int) -> bool:
    """Nothing is playing now: no item, a paused or past one, or one that has ended."""
    song = document["song"]
    if song is None or song["source"] != "current" or not song["isPlaying"]:
        return True
    bar = progress(document, now_ms)
    return bar is not None and bar.ended


PAD = 12  # art inset from the card's edge, px
GAP = 16  # text from the art and from the card's edges, px
ENDED = "Played just now"


def render_card(document: Document, options: ViewOptions, art: str | None, now_ms: int) -> str:
    """The whole card. Hidden states (idle=hide, hideAfter past) keep the size, empty.

    Only the order of the parts lives here; each part is a function of its own so that
    the geometry, the texts and the CSS animations can be read (and changed) one at a time.
    """
    layout = LAYOUTS[options.size]
    song = document["song"]
    idle = is_idle(document, now_ms)
    hide_in = _hide_in(document, options, now_ms)
    if (options.idle == "hide" and idle) or (hide_in and min(hide_in) <= 0):
        return _svg(layout, "Nothing playing", "", "")
    if idle and options.idle not in ("show", "hide"):
        return _message_card(layout, options, options.idle)

    bar = progress(document, now_ms)
    status = _status(document, bar, now_ms)
    remaining = bar.duration_ms - bar.position_ms if bar and bar.ticking else None
    if remaining is not None and options.idle == "hide":
        hide_in.append(remaining)
    motion = [_fade_css(min(hide_in))] if hide_in else []

    parts = ['<g class="card">', _background(layout)]
    x = GAP
    if options.art and song is not None:
        parts.append(_art(layout.art, art))
        x = PAD + layout.art + GAP
    room = layout.width - x - GAP
    parts.append(f'<g font-family="{FONT}">')
    parts.append(_status_line(document, layout, x, room, status, remaining))
    if remaining is not None:
        motion.append(_swap_css(remaining))
    if song is not None:
        parts.append(_song_lines(song, options, layout, x, room))
    if bar is not None:
        parts.append(_bar(bar, layout, x, room))
        if bar.ticking:
            motion.append(_bar_css(bar))
    parts.append("</g></g>")
    title = status + (f": {shown_title(song, options)}" if song else "")
    return _svg(layout, title, "".join(parts), _style(options, motion))


def _hide_in(document: Document, options: ViewOptions, now_ms: int) -> list[int]:
    """Ms from now after which the card fades out (hideAfter); a list, as render_card may
    add the track's end (idle=hide) and the earliest wins."""
    if options.hide_after_s is not None and document["updatedAt"]:
        return [document["updatedAt"] + options.hide_after_s * 1000 - now_ms]
    return []


def _status(document: Document, bar: Progress | None, now_ms: int) -> str:
    """The status line's words: the quota pause note wins, else the label, which says when
    a stale document was last seen (an image cannot say it any other way)."""
    label = status_label(document, now_ms)
    if bar is not None and bar.ended:
        label = ENDED
    note = paused_note(document)
    if note is None and document["stale"] and document["updatedAt"]:
        seen = ago(document["updatedAt"], now_ms)
        label += f" · last seen {seen}" if seen else ""
    return note or label


def _fade_css(delay_ms: int) -> str:
    """The card fades out at `delay_ms`, by CSS alone (no script runs in a README)."""
    return (
        f".card{{animation:np-out .6s ease {delay_ms}ms both}}"
        "@keyframes np-out{to{opacity:0;visibility:hidden}}"
        "@media (prefers-reduced-motion:reduce){.card{animation-duration:1ms}}"
    )


def _background(layout: Layout) -> str:
    """The rounded card, inset half a pixel so its 1px border is crisp."""
    w, h = layout.width, layout.height
    return f'<rect class="bg" x="0.5" y="0.5" width="{w - 1}" height="{h - 1}" rx="10"/>'


def _art(side: int, art: str | None) -> str:
    """The inlined art, or a note on a blank square when there is none or it is too big
    for the card's size budget (the layout stays the same either way)."""
    if art and len(art) <= ART_BUDGET:
        return (
            f'<image x="{PAD}" y="{PAD}" width="{side}" height="{side}" '
            f'style="clip-path:inset(0 round 6px)" preserveAspectRatio="xMidYMid slice" '
            f'href="{escape(art, {chr(34): "&quot;"})}"/>'
        )
    return (
        f'<rect class="k" x="{PAD}" y="{PAD}" width="{side}" height="{side}" rx="6"/>'
        f'<text class="m" x="{PAD + side / 2:g}" y="{PAD + side * 0.58:g}" '
        f'font-size="{side // 3}" text-anchor="middle">♪</text>'
    )


def _status_line(
    document: Document, layout: Layout, x: int, room: int, status: str, remaining: int | None
) -> str:
    """Dot, status and provider corner. While a track ticks, a hidden "Played just now"
    sits under the status, for _swap_css to show when the track should have ended."""
    song = document["song"]
    sy, ss = layout.status
    corner = "DEMO" if document["demo"] else providers.label(song["provider"]) if song else ""
    status_room = room - (len(corner) * 7 + 12 if corner else 0) - 14
    live = song and song["isPlaying"] and not paused_note(document) and not document["stale"]
    dot = "a" if live else "m"
    text = _text(status, _chars(status_room, ss))
    parts = [f'<circle class="{dot} dot" cx="{x + 4}" cy="{sy - 4}" r="4"/>']
    if remaining is not None:
        parts.append(
            f'<text class="x now" x="{x + 14}" y="{sy}" font-size="{ss}">{text}</text>'
            f'<text class="x end" x="{x + 14}" y="{sy}" font-size="{ss}">{ENDED}</text>'
        )
    else:
        parts.append(f'<text class="x" x="{x + 14}" y="{sy}" font-size="{ss}">{text}</text>')
    if corner:
        parts.append(
            f'<text class="m" x="{layout.width - 14}" y="{sy}" font-size="10" '
            f'text-anchor="end" letter-spacing=".04em">{corner}</text>'
        )
    return "".join(parts)


def _swap_css(remaining_ms: int) -> str:
    """At the track's end: status out, "Played just now" in, the dot dimmed."""
    return (
        ".end{opacity:0}"
        f".end{{animation:np-on 0s {remaining_ms}ms both}}"
        f".now{{animation:np-off 0s {remaining_ms}ms both}}"
        f".dot{{animation:np-dim 0s {remaining_ms}ms both}}"
        "@keyframes np-on{to{opacity:1}}@keyframes np-off{to{opacity:0}}"
        "@keyframes np-dim{to{opacity:.35}}"
    )


def _song_lines(song: Song, options: ViewOptions, layout: Layout, x: int, room: int) -> str:
    """Title, artists and (where the layout has room) album, each cut to fit `room`."""
    ty, ts = layout.title
    ay, asz = layout.artists
    artists = ", ".join(song["artists"]) or "Unknown artist"
    parts = [
        f'<text class="t" x="{x}" y="{ty}" font-size="{ts}" font-weight="600">'
        f"{_text(shown_title(song, options), _chars(room, ts))}</text>",
        f'<text class="x" x="{x}" y="{ay}" font-size="{asz}">'
        f"{_text(artists, _chars(room, asz))}</text>",
    ]
    if layout.album and song["album"]:
        ly, ls = layout.album
        parts.append(
            f'<text class="m" x="{x}" y="{ly}" font-size="{ls}">'
            f"{_text(song['album'], _chars(room, ls))}</text>"
        )
    return "".join(parts)


def _bar(bar: Progress, layout: Layout, x: int, room: int) -> str:
    """The track and the bar, scaled to the position at render: right without animation
    (reduced motion, a paused or stale item), the start of it otherwise."""
    share = bar.position_ms / bar.duration_ms
    return (
        f'<rect class="k" x="{x}" y="{layout.bar_y}" width="{room}" height="3" rx="1.5"/>'
        f'<rect class="a bar" x="{x}" y="{layout.bar_y}" width="{room}" height="3" '
        f'rx="1.5" style="transform-box:fill-box;transform-origin:0 0;'
        f'transform:scaleX({share:.4f})"/>'
    )


def _bar_css(bar: Progress) -> str:
    """The bar runs over the whole track, started `position` ms in the past: so it runs
    exactly the remaining time, with no clock but the one at render."""
    return (
        f".bar{{animation:np-bar {bar.duration_ms}ms linear -{bar.position_ms}ms both}}"
        "@keyframes np-bar{from{transform:scaleX(0)}to{transform:scaleX(1)}}"
        "@media (prefers-reduced-motion:reduce){.bar{animation:none}}"
    )


def _message_card(layout: Layout, options: ViewOptions, message: str) -> str:
    """idle=<message>: the card shows only the owner's words."""
    w, h = layout.width, layout.height
    ts = layout.title[1]
    body = _background(layout) + (
        f'<text class="x" x="{w / 2:g}" y="{h / 2 + ts / 3:g}" font-size="{ts}" '
        f'text-anchor="middle" font-family="{FONT}">{_text(message, _chars(w - 32, ts))}</text>'
    )
    return _svg(layout, message, body, _style(options, []))
