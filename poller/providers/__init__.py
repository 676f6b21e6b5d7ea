"""Listening providers the poller reads: one folder each (client, normalizer, source).

A provider's package exposes `build(context) -> Source | None` (None: not configured).
`build_sources` finds it by the provider's name, so adding a provider adds a folder here
and a row to `shared/providers.py`, and touches nothing else of the poller.
"""

from __future__ import annotations

import importlib
from typing import cast

from poller.source import Build, Source, SourceContext


def builder(name: str) -> Build:
    module = importlib.import_module(f"{__name__}.{name}")
    return cast(Build, module.build)


def build_sources(context: SourceContext) -> list[Source]:
    """The configured sources, in preference order."""
    sources: list[Source] = []
    for name in context.settings.source_order:
        source = builder(name)(context)
        if source is not None:
            sources.append(source)
    return sources
