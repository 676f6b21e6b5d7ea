"""The import graph tells the architecture: shared/ at the bottom, poller/ and web/ on it
side by side, nowplaying/ (the composition root) on top. Imports are read with `ast`,
those inside functions included, so a lazy import cannot hide a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("shared", "poller", "web", "nowplaying")
ENTRY_POINTS = {"poller/__main__.py", "web/__main__.py"}  # may call the composition root


def imported_packages(source: str, module: str) -> set[str]:
    """The top-level packages of this project that `source` (module `module`) imports,
    at any depth of the tree."""
    found: set[str] = set()
    package = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join([*base, node.module or ""])]
            else:
                names = [node.module or ""]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(LAYERS)
    return found


def modules() -> list[tuple[str, str, set[str]]]:
    """(path, layer, packages it imports) for every module of the four packages."""
    result = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            dotted = relative.removesuffix(".py").replace("/", ".")
            result.append((relative, layer, imported_packages(path.read_text(), dotted)))
    return result


MODULES = modules()


def test_the_reader_sees_imports_inside_functions_and_relative_ones() -> None:
    source = "def f():\n    from web.hub import Hub\n    import poller.service\nfrom . import x\n"
    assert imported_packages(source, "shared.thing") == {"web", "poller", "shared"}


def test_every_layer_has_modules() -> None:
    assert {layer for _, layer, _ in MODULES} == set(LAYERS)


@pytest.mark.parametrize("path", [p for p, layer, _ in MODULES if layer == "shared"])
def test_shared_imports_neither_poller_nor_web(path: str) -> None:
    imports = next(i for p, _, i in MODULES if p == path)
    assert not imports & {"poller", "web", "nowplaying"}


@pytest.mark.parametrize("path", [p for p, layer, _ in MODULES if layer == "poller"])
def test_the_poller_never_imports_the_web(path: str) -> None:
    imports = next(i for p, _, i in MODULES if p == path)
    assert "web" not in imports
    assert "nowplaying" not in imports or path in ENTRY_POINTS


@pytest.mark.parametrize("path", [p for p, layer, _ in MODULES if layer == "web"])
def test_the_web_never_imports_the_poller(path: str) -> None:
    imports = next(i for p, _, i in MODULES if p == path)
    assert "poller" not in imports
    assert "nowplaying" not in imports or path in ENTRY_POINTS


def test_only_the_composition_root_imports_both_sides() -> None:
    both = [p for p, _, imports in MODULES if {"poller", "web"} <= imports]
    assert both and all(p.startswith("nowplaying/") for p in both)
