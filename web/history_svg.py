"""The history card (/history.svg): the last plays as a list, in the visual language of the
README card (web/svg.py: its palettes, font, background, escaping and theme CSS). Pure:
sessions, view options, inlined art and the clock in; one self-contained SVG out (no
`href`, `src` or `url()` other than `data:`; every text escaped).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import providers
from shared.history import Session
from web.options import ViewOptions
from web.svg import ART_BUDGET, FONT, Layout, _background, _chars, _style, _svg, _text, ago

TITLE = "Recently played"
EMPTY = "No plays yet"


@dataclass(frozen=True)
class ListLayout:
    width: int
    header: int  # height of the title band, px
    row: int  # height of one row
    art: int  # side of a row's art
    title_px: int
    line_px: int
    two_lines: bool


LIST_LAYOUTS = {
    "normal": ListLayout(480, 40, 56, 40, 14, 12, True),
    "wide": ListLayout(640, 40, 56, 40, 14, 12, True),
    "compact": ListLayout(340, 30, 32, 24, 12, 11, False),
}


@dataclass(frozen=True)
class Play:
    """One row: a session, and how many plays of the same item in a row it stands for."""

    session: Session
    count: int = 1


def same_item(a: Session, b: Session) -> bool:
    if a["provider"] != b["provider"] or a["type"] != b["type"]:
        return False
    if a["id"] and b["id"] and a.get("url") and a.get("url") == b.get("url"):
        return True
    return (a["name"], a["artists"], a["album"]) == (b["name"], b["artists"], b["album"])


def collapse(sessions: list[Session], limit: int) -> list[Play]:
    """Newest first; repeats of one item in a row become one row with a count."""
    plays: list[Play] = []
    for session in sessions:
        if plays and same_item(plays[-1].session, session):
            plays[-1] = Play(plays[-1].session, plays[-1].count + 1)
        elif len(plays) < limit:
            plays.append(Play(session))
        else:
            break
    return plays


def render_history(
    plays: list[Play], options: ViewOptions, art: dict[str, str], now_ms: int
) -> str:
    """The whole list card; `art` maps an imageUrl to its data URI (absent: a placeholder)."""
    layout = LIST_LAYOUTS[options.size]
    rows = max(1, len(plays))
    height = layout.header + rows * layout.row + 8
    parts = [_background_of(layout.width, height), f'<g font-family="{FONT}">']
    parts.append(
        f'<circle class="a" cx="20" cy="{layout.header // 2 + 2}" r="4"/>'
        f'<text class="x" x="32" y="{layout.header // 2 + 6}" '
        f'font-size="{layout.line_px}">{TITLE}</text>'
    )
    if not plays:
        parts.append(
            f'<text class="m" x="16" y="{layout.header + layout.row // 2 + 4}" '
            f'font-size="{layout.title_px}">{EMPTY}</text>'
        )
    for index, play in enumerate(plays):
        top = layout.header + index * layout.row
        parts.append(_row(play, layout, options, art, top, now_ms))
    parts.append("</g>")
    label = TITLE + (": " + ", ".join(p.session["name"] for p in plays) if plays else "")
    return _svg_sized(layout.width, height, label, "".join(parts), options)


def _background_of(width: int, height: int) -> str:
    return _background(Layout(width, height, 0, (0, 0), (0, 0), (0, 0), None, 0))


def _svg_sized(width: int, height: int, label: str, body: str, options: ViewOptions) -> str:
    layout = Layout(width, height, 0, (0, 0), (0, 0), (0, 0), None, 0)
    return _svg(layout, label, body, _style(options, []))


def _row(
    play: Play,
    layout: ListLayout,
    options: ViewOptions,
    art: dict[str, str],
    top: int,
    now_ms: int,
) -> str:
    session = play.session
    x = 16
    parts: list[str] = []
    side = layout.art
    art_y = top + (layout.row - side) // 2
    if options.art:
        parts.append(_thumb(x, art_y, side, art.get(session["imageUrl"] or "")))
        x += side + 12
    when = ago(session["endedAt"], now_ms) or ""
    count = f"×{play.count}" if play.count > 1 else ""
    # Attribution, as on the live card's corner: Spotify's Design Guidelines ask that
    # metadata read from Spotify name Spotify (developer.spotify.com/documentation/design);
    # the other providers are named likewise.
    source = providers.label(session.get("provider") or "spotify")
    aside = " · ".join(p for p in (source, count, when) if p)
    aside_room = int(len(aside) * (layout.line_px - 1) * 0.56) + 12  # as `_chars` counts
    room = layout.width - x - 16 - aside_room
    artists = ", ".join(session["artists"]) or "Unknown artist"
    if layout.two_lines:
        ty, ay = top + layout.row // 2 - 2, top + layout.row // 2 + 14
        parts.append(
            f'<text class="t" x="{x}" y="{ty}" font-size="{layout.title_px}" '
            f'font-weight="600">{_text(session["name"], _chars(room, layout.title_px))}</text>'
            f'<text class="x" x="{x}" y="{ay}" font-size="{layout.line_px}">'
            f"{_text(artists, _chars(room, layout.line_px))}</text>"
        )
    else:
        ty = top + layout.row // 2 + 4
        line = f"{session['name']} – {artists}"
        parts.append(
            f'<text class="t" x="{x}" y="{ty}" font-size="{layout.title_px}">'
            f"{_text(line, _chars(room, layout.title_px))}</text>"
        )
    parts.append(
        f'<text class="m" x="{layout.width - 16}" y="{top + layout.row // 2 + 4}" '
        f'font-size="{layout.line_px - 1}" text-anchor="end">{_text(aside, 40)}</text>'
    )
    return "".join(parts)


def _thumb(x: int, y: int, side: int, uri: str | None) -> str:
    if uri and len(uri) <= ART_BUDGET and uri.startswith("data:"):
        safe = _text(uri, len(uri) + 1)
        return (
            f'<image x="{x}" y="{y}" width="{side}" height="{side}" '
            f'style="clip-path:inset(0 round 4px)" preserveAspectRatio="xMidYMid slice" '
            f'href="{safe}"/>'
        )
    return (
        f'<rect class="k" x="{x}" y="{y}" width="{side}" height="{side}" rx="4"/>'
        f'<text class="m" x="{x + side / 2:g}" y="{y + side * 0.66:g}" '
        f'font-size="{side // 2}" text-anchor="middle">♪</text>'
    )
