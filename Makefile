# Two entry points for newcomers (see README): `make demo` and `make test`.
# Both create .venv on first use (idempotent: re-running skips finished steps).
# `make test-modern` runs the same suite on the current stack (.venv-modern: numpy 2, pandas 3,
# current scipy/torch/Ray, RecBole installed without its pins); `make ci` is .ci/run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.recbole-spec-installed
MODERN_VENV ?= .venv-modern
MPY := $(MODERN_VENV)/bin/python
MODERN_STAMP := $(MODERN_VENV)/.recbole-spec-installed
# The only `pip check` complaints allowed on the current stack: RecBole 1.2.1's pins we override.
OVERRIDDEN_PINS := ^recbole 1\.2\.1 has requirement (ray|colorlog|colorama)[<>=!~ ]

.PHONY: setup setup-modern demo test test-modern test-ray check-py312 ci lint bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: 2.13.0 is a local CPU wheel here; an unpinned torch pulls GBs of CUDA packages.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[pinned,dev]"
	$(PY) -m pip check
	touch $(STAMP)

# The current stack: RecBole's real dependencies from the [modern] extra, RecBole itself without
# its pins (ray<=2.6.3, colorlog==4.7.2, colorama==0.4.4), which are the only pip-check findings.
setup-modern: $(MODERN_STAMP)

$(MODERN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(MODERN_VENV)
	$(MPY) -m pip install -q --upgrade pip
	$(MPY) -m pip install -q torch==2.13.0
	$(MPY) -m pip install -q -e ".[modern,dev]"
	$(MPY) -m pip install -q --no-deps recbole==1.2.1
	$(MPY) -m pip check > $(MODERN_VENV)/pip-check.txt || true
	cat $(MODERN_VENV)/pip-check.txt
	! grep -v -E '$(OVERRIDDEN_PINS)' $(MODERN_VENV)/pip-check.txt
	touch $(MODERN_STAMP)

demo: $(STAMP)
	$(VENV)/bin/recbole-spec demo --out=demo

test: $(STAMP)
	$(PY) -m pytest -q

test-modern: $(MODERN_STAMP)
	$(MPY) -m pytest -q

# The real Ray searches (signals, kill -9, resume, failures): marked slow, the default suite runs
# the same orchestration through an in-process fake backend.
test-ray: $(STAMP)
	$(PY) -m pytest -q -m slow tests/test_tuning.py tests/test_tune_signals.py

# Python 3.12+ cannot be installed here; check that the documented 3.12 install resolves there.
check-py312: $(STAMP)
	.ci/check-py312 $(PY)

ci:
	.ci/run

lint: $(STAMP)
	$(VENV)/bin/ruff check recbole_spec tests benchmarks run_recbole_spec.py

bench: $(STAMP)
	$(PY) benchmarks/bench_epoch.py --dataset=ml-100k
