# promgate: `make demo` runs the main job, `make test` runs every test. Both set up what they need.
VENV ?= .venv
# The exporter's tests run here too, against the lowest Locust the package allows.
FLOOR_VENV ?= .venv-floor
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup demo test lint unit floor integration bench dashboards clean

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

floor: setup
	$(FLOOR_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/unit/exporter

test: lint
	$(PY) -m pytest -q -p no:cacheprovider -n 3 --dist loadfile tests
	$(FLOOR_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/unit/exporter

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

dashboards: setup
	$(PY) grafana/generate.py
	$(PY) deploy/prometheus/generate_rules.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .pytest_cache .mypy_cache .ruff_cache out
