"""No function in web/ is longer than 80 lines: a long one mixes jobs (render_card once
mixed geometry, texts, art, theme CSS and animations in 123 lines), and splitting it
later costs a byte-identical check that a short one never needs."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"
MAX_LINES = 80


def long_functions(source: str, name: str, limit: int = MAX_LINES) -> list[str]:
    """'module:line function (n lines)' for each function, method or nested function of
    `source` longer than `limit` lines, from its `def` to its last line."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > limit:
                found.append(f"{name}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_in_web_is_longer_than_80_lines() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert modules, WEB
    found = [
        hit
        for path in modules
        for hit in long_functions(path.read_text(encoding="utf-8"), str(path.relative_to(WEB)))
    ]
    assert not found, "split these into functions with one job each: " + "; ".join(found)


def test_the_checker_flags_a_long_function_and_only_it() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))  # with its def: 81 lines
    source = (
        f"def short():\n    return 1\n\n\nasync def too_long():\n{body}\n\n"
        f"class C:\n    def method(self):\n{body.replace('    ', '        ')}"
    )
    assert long_functions(source, "m.py") == [
        f"m.py:5 too_long ({MAX_LINES + 1} lines)",
        # method: after too_long's def and body, two blank lines and `class C:`
        f"m.py:{5 + MAX_LINES + 4} method ({MAX_LINES + 1} lines)",
    ]


def test_the_checker_allows_exactly_80_lines() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES - 1))
    assert long_functions(f"def fits():\n{body}", "m.py") == []
