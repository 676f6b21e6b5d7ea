"""Names fit for every renderer: the one place text from a provider is cleaned.

A provider's names end up in JSON (stored in Redis as UTF-8), SSE frames, HTML and SVG.
A lone surrogate cannot be encoded as UTF-8 (the publish fails), and a character outside
XML 1.0's `Char` production makes the SVG ill-formed, whatever the escaping. So every
normalizer passes its names through `clean_text` once; renderers still escape as usual.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

# Everything XML 1.0 forbids: C0 controls (tab, LF and CR are handled apart), surrogates
# (lone ones survive in Python strings decoded from JSON `\ud800` escapes), U+FFFE, U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def clean_text(value: str) -> str:
    """`value` with XML-invalid characters and lone surrogates replaced by U+FFFD, and
    line breaks and tabs by a space (a name is one line). Pure; idempotent."""
    return _LINE_BREAKS.sub(" ", _NOT_XML.sub(REPLACEMENT, value))
