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


def test_the_web_never_imports_the_simulator() -> None:
    """The demo's art is handed to the web app by the composition root."""
    offenders = [
        path
        for path, layer, _ in MODULES
        if layer == "web"
        and "simulator" in (ROOT / path).read_text()
        and any(m.startswith("nowplaying.simulator") for m in imported_modules(path))
    ]
    assert offenders == []


def imported_modules(path: str) -> set[str]:
    """Every project module `path` imports (dotted, as far as it names a module file or
    package), TYPE_CHECKING imports included: a cycle hidden there is still a cycle."""
    dotted = path.removesuffix(".py").replace("/", ".")
    package = dotted.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - node.level + 1]
                base = ".".join([*prefix, base]) if base else ".".join(prefix)
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c.split(".")[0] in LAYERS and module_exists(c)}
    return found


def module_exists(dotted: str) -> bool:
    path = ROOT / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path, _, _ in MODULES:
        name = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        graph[name] = {m for m in imported_modules(path) if m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path, or None. A package's `__init__` importing its own
    submodule (to re-export it) is not a cycle of meaning: a submodule importing its
    package's `__init__` back is."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):
                continue  # a package re-exporting its own submodule
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if state.get(nxt) is None and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None and (found := visit(start)) is not None:
            return found
    return None


def test_the_cycle_finder_sees_a_cycle_and_a_re_export_is_none() -> None:
    assert find_cycle({"a.x": {"a.y"}, "a.y": {"a.x"}}) == ["a.x", "a.y", "a.x"]
    assert find_cycle({"a": {"a.x"}, "a.x": {"shared.b"}, "shared.b": set()}) is None


def test_no_module_imports_itself_back_through_others() -> None:
    assert find_cycle(module_graph()) is None
