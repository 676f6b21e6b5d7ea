"""The lock (requirements/*.txt, made by `make lock`) pins what pyproject.toml allows, with
hashes, and the runtime lock is the development lock's subset at the same versions: the
image and `make run` run what `make test` tested."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", re.M)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {canonicalize_name(n): v for n, v in PIN.findall(text)}


def entries(name: str) -> list[str]:
    """Each requirement of a lock file with its continuation lines, comments dropped."""
    text = (ROOT / "requirements" / name).read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [e for e in re.split(r"\n(?=\S)", "\n".join(lines)) if e.strip()]


def test_every_locked_requirement_carries_a_hash() -> None:
    for name in ("runtime.txt", "dev.txt"):
        for entry in entries(name):
            assert "--hash=sha256:" in entry, f"{name}: {entry.splitlines()[0]}"


def test_every_direct_dependency_is_pinned_within_its_range() -> None:
    locked = pins("dev.txt")
    for spec in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]:
        requirement = Requirement(spec)
        version = locked.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in the lock"
        assert requirement.specifier.contains(version), f"{requirement.name}=={version}"


def test_the_runtime_lock_pins_the_runtime_dependencies_and_no_development_tool() -> None:
    runtime = pins("runtime.txt")
    for spec in PROJECT["dependencies"]:
        assert canonicalize_name(Requirement(spec).name) in runtime, spec
    for tool in ("pytest", "mypy", "ruff", "playwright"):
        assert tool not in runtime


def test_the_runtime_lock_is_the_development_locks_subset_at_the_same_versions() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert {n: dev.get(n) for n in runtime} == runtime


def test_the_build_backend_is_locked_for_installs_without_build_isolation() -> None:
    assert "setuptools" in pins("runtime.txt")
