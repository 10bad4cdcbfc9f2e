# Negoscope: two commands on a fresh machine (`make run`, `make test`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format bench clean install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'

## run: install, migrate the embedded database, load demo data when empty, serve on 127.0.0.1:5000
run: export NEGOSCOPE_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: install
	$(BIN)/negoscope db upgrade
	$(BIN)/negoscope demo --if-empty
	@echo "Negoscope is serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/negoscope run --host $(HOST) --port $(PORT)

## test: install the test extras and run every test
test: install-test
	$(BIN)/pytest

## bench: build the benchmark data once (cached in bench/.data/), run every benchmark, write bench/RESULTS.md
bench: install-test
	$(BIN)/python -m bench.run

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
