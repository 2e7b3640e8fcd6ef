# Two entry points for newcomers (see README): `make demo` and `make test`.
# Both create .venv on first use (idempotent: re-running skips finished steps).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.recbole-spec-installed

.PHONY: setup demo test lint bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: 2.13.0 is a local CPU wheel here; an unpinned torch pulls GBs of CUDA packages.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip check
	touch $(STAMP)

demo: $(STAMP)
	$(PY) run_recbole_spec.py --model=DirectSpecPlus --dataset=ml-100k --epochs=50 --show_progress=False

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check recbole_spec tests benchmarks run_recbole_spec.py

bench: $(STAMP)
	$(PY) benchmarks/bench_epoch.py --dataset=ml-100k
