"""Reading a JSON object from bytes someone else wrote (a provider, Redis): None for
anything that is not one, never an exception."""

from __future__ import annotations

import json
from typing import Any


def json_object(raw: object) -> dict[str, Any] | None:
    """The object `raw` (bytes or str) encodes; None when it is malformed or not an object."""
    if not isinstance(raw, bytes | str):
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
