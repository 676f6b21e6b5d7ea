"""The view options, one grammar for /embed.svg and /overlay (query) and the widget
(data-* attributes, parsed by its twin in widget.js). Pure.

A malformed value of a known option is an error naming it; unknown names are ignored,
so cache-busters (`?v=2`) keep working. Each view picks its own default theme.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Theme = Literal["light", "dark", "auto"]
Size = Literal["compact", "normal", "wide"]

HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
MAX_HIDE_AFTER_S = 86_400
MAX_MESSAGE = 100
NAMES = ("theme", "bg", "accent", "size", "art", "idle", "hideAfter", "clean", "explicit")


@dataclass(frozen=True)
class ViewOptions:
    theme: Theme = "light"
    bg: str | None = None  # None: the theme's; "transparent"; or "#rrggbb"/"#rgb"
    accent: str | None = None  # None: the theme's
    size: Size = "normal"
    art: bool = True
    idle: str = "show"  # "show", "hide", or a message to show instead
    hide_after_s: int | None = None
    clean: bool = False
    hide_explicit: bool = False


class OptionError(ValueError):
    """Every malformed option, one reason each, in the order of NAMES."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def colour(value: str) -> str | None:
    """'#rrggbb' or '#rgb' (lower case) from hex with or without '#', else None."""
    match = HEX.fullmatch(value.strip())
    return f"#{match.group(1).lower()}" if match else None


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    lowered = value.strip().lower()
    if lowered not in allowed:
        raise ValueError(f"{name} must be {', '.join(allowed[:-1])} or {allowed[-1]}")
    return lowered


def _one(name: str, value: str) -> dict[str, object]:
    """The dataclass fields that option `name` sets; ValueError says why not."""
    if name == "theme":
        return {"theme": _choice(name, value, ("light", "dark", "auto"))}
    if name in ("bg", "accent"):
        if name == "bg" and value.strip().lower() == "transparent":
            return {"bg": "transparent"}
        parsed = colour(value)
        if parsed is None:
            extra = "'transparent' or " if name == "bg" else ""
            raise ValueError(f"{name} must be {extra}a hex colour (rgb or rrggbb, '#' optional)")
        return {name: parsed}
    if name == "size":
        return {"size": _choice(name, value, ("compact", "normal", "wide"))}
    if name == "art":
        return {"art": _choice(name, value, ("show", "hide")) == "show"}
    if name == "clean":
        return {"clean": _choice(name, value, ("on", "off")) == "on"}
    if name == "explicit":
        return {"hide_explicit": _choice(name, value, ("show", "hide")) == "hide"}
    if name == "idle":
        text = " ".join(value.split())
        if not text or len(text) > MAX_MESSAGE or not text.isprintable():
            raise ValueError(f"idle must be show, hide or a message of 1 to {MAX_MESSAGE} letters")
        lowered = text.lower()
        return {"idle": lowered if lowered in ("show", "hide") else text}
    if name == "hideAfter":
        text = value.strip()
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_HIDE_AFTER_S:
            raise ValueError(f"hideAfter must be whole seconds from 1 to {MAX_HIDE_AFTER_S}")
        return {"hide_after_s": int(text)}
    return {}


def parse_options(params: Mapping[str, str], default_theme: Theme = "light") -> ViewOptions:
    """ViewOptions from query parameters or data-* attributes; OptionError names each bad one."""
    fields: dict[str, object] = {"theme": default_theme}
    reasons: list[str] = []
    for name in NAMES:
        value = params.get(name)
        if value is None:
            continue
        try:
            fields.update(_one(name, value))
        except ValueError as exc:
            reasons.append(f"{exc} (got {value[:40]!r})")
    if reasons:
        raise OptionError(reasons)
    return ViewOptions(**fields)  # type: ignore[arg-type]
