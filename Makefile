# The two commands a newcomer runs (see README.md):
#   make start   set everything up, then run `tracker demo` (the ESXi 7.0 U3 story, offline)
#   make check   set everything up (the test servers too), then run every check: format, lint, types, tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: start check setup test-deps format lint types test bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

start: $(STAMP)
	$(BIN)/tracker demo

check: $(STAMP) test-deps format lint types test

test-deps:  # the servers the tests start (Go and govmomi, PostgreSQL), installed when missing
	@bash scripts/install-test-deps.sh

format: $(STAMP)
	$(BIN)/ruff format --check tracker tests benchmarks scripts docs

lint: $(STAMP)
	$(BIN)/ruff check tracker tests benchmarks scripts docs

types: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/pytest -q -n 2  # two workers: every test holds its own servers, files and ports

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_poll.py

docs: $(STAMP)  # the documentation site, into site/; a warning fails the build
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
