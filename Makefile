# Quick start: `make run` and `make test` create .venv from nothing when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml

.PHONY: run test lint bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,serve]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/monitor --config $(CONFIG) run

test: $(VENV)/.installed-dev
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy monitor
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy monitor

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py

eval: $(VENV)/.installed-dev
	$(BIN)/python bench/eval_relevance.py
	$(BIN)/python bench/eval_claims.py

clean:
	rm -rf $(VENV) build *.egg-info
