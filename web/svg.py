"""The README card as SVG. Pure: the document, a theme, the inlined art and the clock in.

GitHub's image proxy loads no external resources from inside an SVG, so the art arrives
here already as a data URI; every piece of text is XML-escaped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from xml.sax.saxutils import escape

from shared.document import Document

Theme = Literal["light", "dark"]

THEMES: dict[Theme, dict[str, str]] = {
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


def _text(value: str, limit: int) -> str:
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return escape(value, {'"': "&quot;", "'": "&apos;"})


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


def status_label(document: Document, now_ms: int) -> str:
    song = document["song"]
    if song is None:
        return "Nothing playing yet"
    if song["source"] == "recent":
        when = ago(song["playedAt"], now_ms)
        return f"Recently played · {when}" if when else "Recently played"
    return "Now playing" if song["isPlaying"] else "Paused"


def render_card(document: Document, theme: Theme, art: str | None, now_ms: int) -> str:
    c = THEMES[theme]
    song = document["song"]
    label = status_label(document, now_ms)
    if document["stale"] and document["updatedAt"]:
        seen = ago(document["updatedAt"], now_ms)
        label += f" · last seen {seen}" if seen else ""
    width, height = 480, 120
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_text(label, 80)}">',
        f"<title>{_text(label, 80)}"
        + (f": {_text(song['name'], 100)}" if song else "")
        + "</title>",
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="10" '
        f'fill="{c["bg"]}" stroke="{c["border"]}"/>',
    ]
    x = 16
    if art:
        parts.append(
            '<clipPath id="r"><rect x="12" y="12" width="96" height="96" rx="6"/></clipPath>'
            f'<image x="12" y="12" width="96" height="96" clip-path="url(#r)" '
            f'preserveAspectRatio="xMidYMid slice" href="{escape(art, {chr(34): "&quot;"})}"/>'
        )
        x = 124
    elif song is not None:
        parts.append(
            f'<rect x="12" y="12" width="96" height="96" rx="6" fill="{c["track"]}"/>'
            f'<text x="60" y="68" font-size="32" text-anchor="middle" '
            f'fill="{c["muted"]}">♪</text>'
        )
        x = 124
    dot = c["accent"] if song and song["isPlaying"] else c["muted"]
    font = "font-family=\"-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif\""
    parts.append(f"<g {font}>")
    parts.append(f'<circle cx="{x + 4}" cy="26" r="4" fill="{dot}"/>')
    parts.append(
        f'<text x="{x + 14}" y="30" font-size="12" fill="{c["text"]}">{_text(label, 48)}</text>'
    )
    if song is not None:
        room = 34 if art or song else 52
        parts.append(
            f'<text x="{x}" y="56" font-size="17" font-weight="600" '
            f'fill="{c["title"]}">{_text(song["name"], room)}</text>'
        )
        artists = ", ".join(song["artists"]) or "Unknown artist"
        parts.append(
            f'<text x="{x}" y="77" font-size="13" fill="{c["text"]}">'
            f"{_text(artists, room + 6)}</text>"
        )
        if song["album"]:
            parts.append(
                f'<text x="{x}" y="95" font-size="12" fill="{c["muted"]}">'
                f"{_text(song['album'], room + 8)}</text>"
            )
        progress = song["progressMs"]
        if song["source"] == "current" and progress is not None and song["durationMs"]:
            if song["isPlaying"] and song["progressAt"] is not None:
                progress += max(0, now_ms - song["progressAt"])
            share = min(1.0, progress / song["durationMs"])
            bar = width - x - 16
            parts.append(
                f'<rect x="{x}" y="104" width="{bar}" height="3" rx="1.5" fill="{c["track"]}"/>'
            )
            parts.append(
                f'<rect x="{x}" y="104" width="{bar * share:.1f}" height="3" rx="1.5" '
                f'fill="{c["accent"]}"/>'
            )
    if document["demo"]:
        parts.append(
            f'<text x="{width - 14}" y="30" font-size="10" text-anchor="end" '
            f'fill="{c["muted"]}">DEMO</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
