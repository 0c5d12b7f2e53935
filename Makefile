# Two commands on a fresh clone: `make demo` and `make test` (README).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench install system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,redis,postgres,aws,slack]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the assistant answers one prompt (dev model when ANTHROPIC_API_KEY is unset).
demo: $(STAMP)
	$(PY) -m agentcontainers demo

## System packages the suite drives for real (Chromium for the web UI, bubblewrap for sandboxing)
## and the npm MCP peers; installed only when missing.
system-deps:
	@bash scripts/system-deps.sh

## The whole suite: unit and end-to-end tests with the real CLI, sockets, Redis, Postgres, Chromium.
test: $(STAMP) system-deps
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not e2e"

lint: $(STAMP)
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
