# Negoscope: two commands on a fresh machine (`make run`, `make test`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format bench clean install install-test translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'

## run: install, migrate the embedded database, load demo data when empty, serve on 127.0.0.1:5000
##      with the background-jobs worker alongside (both stop with Ctrl-C)
run: export NEGOSCOPE_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: install
	$(BIN)/negoscope db upgrade
	$(BIN)/negoscope demo --if-empty
	@echo "Negoscope is serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/negoscope worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/negoscope run --host $(HOST) --port $(PORT)

## test: install the test extras and run every test
test: install-test
	$(BIN)/pytest

## bench: build the benchmark data once (cached in bench/.data/), run every benchmark, write bench/RESULTS.md
bench: install-test
	$(BIN)/python -m bench.run

## translations: extract the interface's strings, update every language's catalog, compile them
## (add a language: mkdir -p survey/translations/LANG/LC_MESSAGES, then make translations)
translations: install
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-location=file --sort-by-file \
		--project Negoscope --copyright-holder "Negoscope contributors" --msgid-bugs-address "" \
		-o build/messages.pot .
	for dir in survey/translations/*/LC_MESSAGES; do \
		$(BIN)/pybabel update -i build/messages.pot -d survey/translations \
			-l $$(basename $$(dirname $$dir)) --init-missing --ignore-obsolete --no-fuzzy-matching || exit 1; \
	done
	$(BIN)/pybabel compile -d survey/translations --statistics
	# The PDF reports' own catalog (domain "reports"; reports/ never imports survey/).
	$(BIN)/pybabel extract -k N_ --add-location=file --sort-by-file --project Negoscope \
		--copyright-holder "Negoscope contributors" --msgid-bugs-address "" -o build/reports.pot reports
	for dir in reports/translations/*/LC_MESSAGES; do \
		$(BIN)/pybabel update -D reports -i build/reports.pot -d reports/translations \
			-l $$(basename $$(dirname $$dir)) --ignore-obsolete --no-fuzzy-matching || exit 1; \
	done
	$(BIN)/pybabel compile -D reports -d reports/translations --statistics

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
