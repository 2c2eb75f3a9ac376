# The two commands: `make demo` (set up and run the whole demo) and `make test`.
# Everything else here is what those two need; nothing relies on hand-installed packages.

VENV        ?= .venv
PYTHON      ?= python3
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
STAMP       := $(VENV)/.installed
# CPU inference is all the product needs; this torch pair is the one pip finds locally
# on the CI-class machines (see README, "Installing"). Override: make TORCH_SPEC=... test
TORCH_SPEC  ?= torch==2.14.1 torchvision==0.29.1
export DISASTER_OPS_DATA_DIR ?= $(CURDIR)/var

.PHONY: demo test test-postgres soak install lint bench docs docs-serve clean-demo help

help:
	@echo "make demo   - install, seed the database from sample_data/, start simulated drone + CCTV replay + dashboard"
	@echo "make test   - install (with dev extras) and run the whole test suite (then the storage,"
	@echo "              services and end-to-end tests again on a throwaway PostgreSQL + PostGIS)"
	@echo "make docs   - build the documentation site into site/ (open site/index.html)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH_SPEC) || $(PIP) install -q torch torchvision
	$(PIP) install -q -e '.[dev,docs,cluster]'
	# test peer: a third-party virtual ONVIF camera (tests/disaster_ops/test_onvif_ipycam.py);
	# without its dependencies, which would add opencv-python beside opencv-python-headless
	$(PIP) install -q --no-deps 'ipycam==1.3.0'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/disaster-ops demo

# The storage, services and end-to-end tests again on a throwaway PostgreSQL + PostGIS
# server (tests/pg.py; skipped with the reason when the server binaries are absent).
PG_TESTS    ?= tests/disaster_ops/test_storage.py tests/disaster_ops/test_registry_import.py \
               tests/disaster_ops/test_incidents.py tests/disaster_ops/test_incident_rules.py \
               tests/disaster_ops/test_cop_view.py tests/disaster_ops/test_camera_health.py \
               tests/disaster_ops/test_missions.py tests/disaster_ops/test_watch.py \
               tests/disaster_ops/test_aerial.py tests/disaster_ops/test_safe_missions.py \
               tests/disaster_ops/test_watch_health_batch.py tests/hardening/test_postgres.py

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)
	DISASTER_OPS_TEST_DB=postgres $(PY) -m pytest -q -m "not slow" -p no:cacheprovider $(PG_TESTS) $(PYTEST_ARGS)

# Only the PostgreSQL pass (e.g. make test-postgres PG_TESTS=tests/disaster_ops/test_watch.py).
test-postgres: $(STAMP)
	DISASTER_OPS_TEST_DB=postgres $(PY) -m pytest -q -m "not slow" -p no:cacheprovider $(PG_TESTS) $(PYTEST_ARGS)

# Long runs kept out of `make test`: the 240 s headless demo of the whole loop.
soak: $(STAMP)
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b --quick || exit 1; done

# The documentation site (mkdocs.yml): offline, references generated from the code.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

clean-demo:
	rm -rf var/
