# `make run` and `make test` work from a fresh clone: they build .venv themselves.
# `run` installs only what the service needs; `test` adds the development tools.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: run test test-e2e lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	touch $(RUNTIME)

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(RUNTIME) $(DEV)

run: $(RUNTIME)
	$(BIN)/nowplaying run

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(DEV)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# The compose stack on a real engine (minutes; CI runs it after `make test`). Installs and
# starts the engine and builds the stand-in base images first: scripts/compose-real.sh.
test-e2e: $(DEV)
	scripts/compose-real.sh setup
	NOWPLAYING_E2E=1 $(BIN)/python -m pytest tests/deploy
