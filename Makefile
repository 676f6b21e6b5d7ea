# `make run` and `make test` work from a fresh clone: they build .venv themselves, from the
# lock (requirements/*.txt, exact versions with hashes), so a clone installs today what it
# installed the day the lock was made. `run` installs only what the service needs; `test`
# adds the development tools. `make lock` refreshes the lock from pyproject.toml's ranges.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
# The lock is resolved once for every platform and Python >= 3.11 (uv's universal mode), so
# the same files serve Python 3.11 and 3.14, amd64 and arm64.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock"

.PHONY: run test test-latest test-e2e lint lock bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# --require-hashes: pip refuses anything not pinned with a matching hash. The project itself
# goes in after, without dependencies, built by the locked setuptools.
$(RUNTIME): requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(PIP) --require-hashes -r requirements/runtime.txt
	$(PIP) --no-deps --no-build-isolation -e .
	touch $(RUNTIME)

$(DEV): requirements/dev.txt pyproject.toml | $(BIN)/python
	$(PIP) --require-hashes -r requirements/dev.txt
	$(PIP) --no-deps --no-build-isolation -e .
	touch $(RUNTIME) $(DEV)

run: $(RUNTIME)
	$(BIN)/nowplaying run

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# Drift: lint and the quick suite against the newest releases pyproject.toml's ranges allow,
# in a venv of its own, ignoring the lock. It prints the versions it used first, and again
# when it fails, so the release that broke something is named.
test-latest:
	scripts/test-latest.sh

# `make lock` keeps the pins it can and changes only what pyproject.toml now asks for;
# `make lock UPGRADE=--upgrade` moves every pin to the newest release the ranges allow.
lock: $(DEV)
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev $(LOCK_FLAGS) $(UPGRADE) -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml requirements/build.in -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/runtime.txt

bench: $(DEV)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .venv-latest .mypy_cache .pytest_cache .ruff_cache build dist *.egg-info

# The compose stack on a real engine (minutes; CI runs it after `make test`). Installs and
# starts the engine and builds the stand-in base images first: scripts/compose-real.sh.
test-e2e: $(DEV)
	scripts/compose-real.sh setup
	NOWPLAYING_E2E=1 $(BIN)/python -m pytest tests/deploy
