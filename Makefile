# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
SECRET_FILE := .local/secret_key
TEST_ENV := DJANGO_SETTINGS_MODULE=techclass.test_settings

.PHONY: run test lint format check-migrations venv dev-venv clean help backup-check bench loadtest

help:
	@echo "make run    install, migrate, seed demo data and serve on http://127.0.0.1:8000"
	@echo "make test   install dev tools, lint, check migrations and run the test suite"
	@echo "make bench  benchmark on the PostgreSQL server of DATABASE_URL (LEARNERS, SEED, RUNS, PAGE_RUNS, BENCH_OUT)"
	@echo "make loadtest  gunicorn + locust, 20 users for 60 s on loopback (LEARNERS, SEED)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(RUN_STAMP)

venv: $(RUN_STAMP)
dev-venv: $(DEV_STAMP)

# A secret key for the local demo, generated once and kept out of git.
$(SECRET_FILE): | $(PY)
	mkdir -p $(dir $@)
	$(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

run: venv $(SECRET_FILE)
	DEBUG=true SECRET_KEY="$$(cat $(SECRET_FILE))" $(PY) manage.py migrate --noinput
	DEBUG=true SECRET_KEY="$$(cat $(SECRET_FILE))" $(PY) manage.py prepare_demo
	DEBUG=true SECRET_KEY="$$(cat $(SECRET_FILE))" $(PY) manage.py runserver 127.0.0.1:8000

lint: dev-venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: dev-venv
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

check-migrations: dev-venv
	$(TEST_ENV) DATABASE_URL=sqlite://:memory: $(PY) manage.py makemigrations --check --dry-run

test: lint check-migrations
	@if [ ! -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then \
	  echo "NOTE: Chromium not found at $${CHROMIUM_PATH:-/usr/bin/chromium}: the browser tests will be SKIPPED (apt-get install chromium to run them)."; fi
	$(PY) -m pytest $(PYTEST_ARGS)

# pg_dump, wipe, pg_restore of a seeded scratch database; the evidence must read the same (docs/operations.md).
backup-check: venv
	PYTHON=$(PY) scripts/backup_restore_check.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles

# The benchmark and the load test run on the PostgreSQL server of DATABASE_URL,
# each in a database of its own that is dropped at the end (docs/performance.md).
LEARNERS ?= 100000
SEED ?= 1
RUNS ?= 5
PAGE_RUNS ?= 20
BENCH_OUT ?= bench-results.json

bench: venv $(SECRET_FILE)
	SECRET_KEY="$$(cat $(SECRET_FILE))" $(PY) manage.py bench --learners $(LEARNERS) --seed $(SEED) --runs $(RUNS) --page-runs $(PAGE_RUNS) --out $(BENCH_OUT)

loadtest: dev-venv $(SECRET_FILE)
	SECRET_KEY="$$(cat $(SECRET_FILE))" $(PY) manage.py loadtest --learners $(LEARNERS) --seed $(SEED)
