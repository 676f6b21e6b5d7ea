"""The release workflow cannot run here (no GitHub runner, no registry), so it is checked
against GitHub's workflow schema (check-jsonschema's vendored copy, offline) and for what
it must do: ship on a version tag, both architectures, from the lock, PyPI by trusted
publishing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def test_every_workflow_matches_githubs_workflow_schema() -> None:
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        done = schema_check(path)
        assert done.returncode == 0, f"{path.name}: {done.stdout}{done.stderr}"


def test_the_schema_check_refuses_a_malformed_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  build:\n    steps: 3\n")
    assert schema_check(bad).returncode != 0


def test_it_runs_on_version_tags_only(workflow: dict[Any, Any]) -> None:
    # PyYAML reads the key `on` as True.
    trigger = workflow.get("on", workflow.get(True))
    assert trigger == {"push": {"tags": ["v*.*.*"]}}


def test_the_image_is_built_for_amd64_and_arm64_and_pushed_to_ghcr(
    workflow: dict[Any, Any],
) -> None:
    job = workflow["jobs"]["image"]
    (build,) = steps_using(job, "docker/build-push-action")
    assert set(build["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert steps_using(job, "docker/setup-qemu-action")
    (login,) = steps_using(job, "docker/login-action")
    assert login["with"]["registry"] == "ghcr.io"
    assert job["permissions"]["packages"] == "write"


def test_the_image_installs_the_locked_set_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements/runtime.txt" in dockerfile
    assert "--no-deps" in dockerfile


def test_the_wheel_is_built_from_the_lock_and_published_by_trusted_publishing(
    workflow: dict[Any, Any],
) -> None:
    build = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["wheel"]["steps"])
    assert "--require-hashes -r requirements/dev.txt" in build
    assert "python -m build --no-isolation" in build
    pypi = workflow["jobs"]["pypi"]
    assert pypi["permissions"] == {"id-token": "write"}
    (publish,) = steps_using(pypi, "pypa/gh-action-pypi-publish")
    assert "password" not in (publish.get("with") or {})


def test_nothing_is_published_before_the_tag_matches_the_packages_version(
    workflow: dict[Any, Any],
) -> None:
    steps = workflow["jobs"]["wheel"]["steps"]
    assert any("GITHUB_REF_NAME" in str(s.get("run", "")) for s in steps)
    assert workflow["jobs"]["pypi"]["needs"] == "wheel"
