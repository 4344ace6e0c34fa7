# The two commands the README promises: `make demo` and `make test`.
# Each creates or refreshes .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(EXTRAS)

.PHONY: demo test bench venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[letters]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed-base
	$(BIN)/civic demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/engine.py --events 20000 --db sqlite --json bench/results/engine-sqlite.json
	$(BIN)/python bench/registry.py --people 1000000 --db sqlite --json bench/results/registry-sqlite.json
	$(BIN)/python bench/sweep.py --people 1000000 --json bench/results/sweep.json
	$(BIN)/python bench/notify.py --messages 20000 --json bench/results/notify-sqlite.json
	$(BIN)/python bench/layoff.py --people 10000 --batch 1000 --effect-batch 1000 --json bench/results/layoff-sqlite.json

clean:
	rm -rf $(VENV) .civic
