# cargowatch: two commands set everything up on a fresh machine.
#   make demo   creates .venv, installs cargowatch, runs the demo on the embedded SQLite store
#   make test   creates .venv with the dev tools, runs ruff, mypy and the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev
DEMO_DIR ?= var/demo
# Set to a PostgreSQL admin URL to run the suite there too (.ci/run does).
CARGOWATCH_TEST_POSTGRES_URL ?=

.PHONY: lock demo test lint typecheck pytest pytest-postgres pytest-both browser serve bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e .
	touch $@

$(DEV): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP) $@

# after a change to pyproject.toml: install the newest versions its ranges allow, test, and
# write what was installed to requirements.lock
lock: | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade -e '.[dev]'
	{ sed -n '1,3p' requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -v '^cargowatch'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# DEMO_SERVE=0 stops after the demo instead of serving the web interface
DEMO_SERVE ?= 1

demo: $(STAMP)
	CARGOWATCH_DATA_DIR=$(DEMO_DIR) $(BIN)/cargowatch demo --dir $(DEMO_DIR)/input
	@echo
	@echo "The demo store is $(DEMO_DIR)/cargowatch.db; to explore it:"
	@echo "  export CARGOWATCH_DATA_DIR=$(DEMO_DIR); . $(BIN)/activate"
	@if [ "$(DEMO_SERVE)" = "1" ]; then \
	  echo; echo "Web interface: http://127.0.0.1:8000  sign in as customs-officer, password cargowatch-demo (Ctrl-C stops it)"; \
	  CARGOWATCH_DATA_DIR=$(DEMO_DIR) $(BIN)/cargowatch serve --host 127.0.0.1 --port 8000; fi

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(DEV)
	$(BIN)/mypy src

# the browser tests drive Debian's chromium; installed here when missing (needs root or sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "== installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; }

# the first run is on SQLite whatever the command line set (make exports its variables)
pytest: $(DEV) browser
	CARGOWATCH_TEST_POSTGRES_URL= $(BIN)/pytest

pytest-postgres: $(DEV) browser
	@if [ -n "$(CARGOWATCH_TEST_POSTGRES_URL)" ]; then \
	  echo "== test suite on PostgreSQL"; \
	  CARGOWATCH_TEST_POSTGRES_URL=$(CARGOWATCH_TEST_POSTGRES_URL) $(BIN)/pytest; \
	else \
	  echo "== PostgreSQL run skipped: set CARGOWATCH_TEST_POSTGRES_URL to run it"; \
	fi

# Both runs side by side when PostgreSQL is given (each test starts its own broker and server
# on free ports and works in its own folders and databases, so the runs share nothing); the
# PostgreSQL run's report follows the SQLite run's, and either failing fails the target.
pytest-both: $(DEV) browser
	@if [ -z "$(CARGOWATCH_TEST_POSTGRES_URL)" ]; then \
	  echo "== test suite on SQLite (set CARGOWATCH_TEST_POSTGRES_URL to run it on PostgreSQL too)"; \
	  CARGOWATCH_TEST_POSTGRES_URL= $(BIN)/pytest; exit $$?; \
	fi; \
	mkdir -p var/test; rm -rf var/test/postgres; \
	( CARGOWATCH_TEST_POSTGRES_URL=$(CARGOWATCH_TEST_POSTGRES_URL) $(BIN)/pytest \
	    -p no:cacheprovider --basetemp=var/test/postgres > var/test/postgres.log 2>&1; \
	  echo $$? > var/test/postgres.rc ) & \
	echo "== test suite on SQLite (and on PostgreSQL alongside)"; \
	CARGOWATCH_TEST_POSTGRES_URL= $(BIN)/pytest; sqlite=$$?; wait; \
	echo "== test suite on PostgreSQL"; cat var/test/postgres.log; \
	test $$sqlite = 0 && test "$$(cat var/test/postgres.rc)" = 0

test: lint typecheck pytest-both

serve: $(STAMP)
	$(BIN)/cargowatch serve

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/edifact.py
	$(BIN)/python benchmarks/registers.py
	$(BIN)/python benchmarks/mqtt.py
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/custody.py
	$(BIN)/python benchmarks/score.py
	$(BIN)/python benchmarks/web.py
	$(BIN)/python benchmarks/referrals.py
	$(BIN)/python benchmarks/incidents.py
	$(BIN)/python benchmarks/sharing.py
	$(BIN)/python benchmarks/cluster.py

# pictures of the main pages for the docs, from the demo store (run make demo first)
screenshots: $(DEV) browser
	CARGOWATCH_DATA_DIR=$(DEMO_DIR) $(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
