#!/usr/bin/env bash
# Drift check: lint and the quick suite against the newest releases that pyproject.toml's
# ranges allow, ignoring the lock, in .venv-latest. A release that breaks the project is seen
# the day it ships, here, rather than by a newcomer once the lock is refreshed. The versions
# used are printed first and again on failure, so the message names what changed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
VENV=.venv-latest
rm -rf "$VENV"
"$PY" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip "$@"; }
pip install -q --disable-pip-version-check --upgrade pip >/dev/null
# No lock, no cache of old wheels' choices: the resolver takes the newest allowed release.
pip install -q --disable-pip-version-check --upgrade --upgrade-strategy eager -e '.[dev]' || {
    echo "test-latest: FAILED to install the newest allowed releases (see pip's message above)" >&2
    exit 1
}
# The build backend too (the wheel test builds without isolation, as the lock's users do).
backend=$("$VENV/bin/python" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')
# shellcheck disable=SC2086
pip install -q --disable-pip-version-check --upgrade $backend || exit 1
versions() {
    # The direct dependencies, as installed, beside what the lock pins.
    "$VENV/bin/python" - <<'PYEOF'
import re, tomllib
from importlib.metadata import version
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
wanted += tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]
lock = dict(re.findall(r"^([a-z0-9_.-]+)==([^ ;\\]+)", open("requirements/dev.txt").read(), re.M))
for spec in wanted:
    name = re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0]
    key = name.lower().replace("_", "-")
    now, locked = version(name), lock.get(key, "?")
    print(f"  {name:20} {now:12} (lock {locked}){'  <- newer than the lock' if now != locked else ''}")
PYEOF
}
echo "test-latest: the newest allowed releases:"
versions
fail() {
    echo "test-latest: FAILED at $1 with these releases (the lock's are in requirements/dev.txt):" >&2
    versions >&2
    exit 1
}
"$VENV/bin/ruff" check . || fail "ruff check"
"$VENV/bin/ruff" format --check . || fail "ruff format"
"$VENV/bin/mypy" || fail "mypy --strict"
"$VENV/bin/python" -m pytest -q --ignore=tests/reliability --ignore=tests/deploy \
    -m "not browser" -p no:cacheprovider || fail "the quick suite"
echo "test-latest: lint and the quick suite pass on the newest allowed releases"
