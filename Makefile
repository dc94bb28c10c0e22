# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app

.PHONY: run test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## Set everything up and serve http://127.0.0.1:5000 (SQLite, no Redis, demo data).
run: $(VENV)/.runtime
	$(FLASK) db upgrade
	$(FLASK) forms sync
	$(FLASK) demo load
	$(FLASK) run --host 127.0.0.1 --port 5000

## The whole test suite (SQLite, or the database of DATABASE_URL).
test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

bench: $(VENV)/.dev
	$(BIN)/python -m bench.forms_engine
