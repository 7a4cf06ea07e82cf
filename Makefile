# promgate: `make demo` runs the main job, `make test` runs every test. Both set up what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup demo test lint unit integration bench dashboards clean

setup:
	@scripts/setup.sh

demo: setup
	$(PY) examples/demo.py $(DEMO_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest -q tests/unit

integration: setup
	$(PY) -m pytest -q tests/integration

test: lint
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

dashboards: setup
	$(PY) grafana/generate.py
	$(PY) deploy/prometheus/generate_rules.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
