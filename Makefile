# Paeshift backend. `make run` serves the API with embedded defaults; `make test` runs every test.
# Set DATABASE_URL and REDIS_URL to use PostgreSQL and Redis instead (same commands).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Requirement sets (requirements/*.txt, direct pins) and their lock files (requirements/lock/*.txt, every
# package pinned with hashes, made by `make lock`): each target installs the set it needs, once per lock change.
#   local: `make run` (runtime + the development tools a newcomer uses); bench: + the benchmark's toolchain;
#   test: + the test tools (tests drive the benchmark too); production: what the platform and the image install.
LOCK_DIR := requirements/lock
# uv's resolver; plain pip installs the result (docs: README "Dependencies").
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11
HOST ?= 127.0.0.1
PORT ?= 8000
STATIC_MANIFEST := staticfiles/staticfiles.json
# `make up`'s broker unless CELERY_BROKER_URL is set: RabbitMQ's local default.
LOCAL_BROKER_URL := amqp://guest:guest@127.0.0.1:5672//

.PHONY: run up up-env test lint format migrate seed venv venv-bench venv-test clean perf-report bench bench-smoke bench-scale dashboard-png test-scale lock schema client

venv: $(VENV)/.installed-local
venv-bench: $(VENV)/.installed-bench
venv-test: $(VENV)/.installed-test

# --require-hashes: every file pip installs must match a hash of the lock file.
$(VENV)/.installed-%: $(LOCK_DIR)/%.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $<
	touch $@

# Regenerates every lock file from the requirement sets (run it after changing requirements/*.txt, and
# after merging branches that did). Versions already locked stay unless a set asks for another; the
# largest set is resolved first and the others within it, so a package has one version in every set.
# `make lock LOCK_ARGS=--upgrade` moves every transitive pin to its newest allowed release.
lock: $(VENV)/.installed-uv
	$(UV_COMPILE) $(LOCK_ARGS) requirements/test.txt -o $(LOCK_DIR)/test.txt
	for set in bench local production; do \
		$(UV_COMPILE) $(LOCK_ARGS) -c $(LOCK_DIR)/test.txt requirements/$$set.txt -o $(LOCK_DIR)/$$set.txt || exit 1; \
	done
	$(UV_COMPILE) $(LOCK_ARGS) requirements/uv.txt -o $(LOCK_DIR)/uv.txt

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: venv
	$(BIN)/python manage.py seed_demo

run: migrate
	$(BIN)/python manage.py seed_demo --if-empty
	@echo ""
	@echo "  Paeshift API      http://$(HOST):$(PORT)/api/v1/"
	@echo "  API docs          http://$(HOST):$(PORT)/api/docs/"
	@echo "  Admin             http://$(HOST):$(PORT)/admin/   (demo staff login printed above)"
	@echo "  silk (staff)      http://$(HOST):$(PORT)/silk/    (docs/profiling.md)"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Lint, format, and the import contracts of pyproject.toml's [tool.importlinter] (docs/architecture.md).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# `make up`: the Procfile's processes on this machine, as a platform runs them, against the PostgreSQL
# and Redis of DATABASE_URL and REDIS_URL and the broker of CELERY_BROKER_URL (default: RabbitMQ on
# this machine; never REDIS_URL's server, which the deploy checks refuse), with production settings: the build step
# (collectstatic), the release (deploy checks, migrations), then web, worker and beat under honcho.
# Plain HTTP on localhost, so no redirect to HTTPS; a secret key is made up unless
# DJANGO_SECRET_KEY is set. Ctrl+C stops all three. See docs/deployment.md.
up: up-env venv $(STATIC_MANIFEST)
	@set -e; \
	export PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) DJANGO_SETTINGS_MODULE=config.settings.production; \
	export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}"; \
	export DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1}"; \
	export CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(LOCAL_BROKER_URL)}"; \
	export GUNICORN_ACCESS_LOG="$${GUNICORN_ACCESS_LOG:-true}"; \
	honcho -f Procfile start release; \
	echo ""; \
	echo "  Paeshift API      http://$(HOST):$(PORT)/api/v1/   (readiness: /readyz)"; \
	echo ""; \
	DJANGO_SECURE_SSL_REDIRECT=false exec honcho -f Procfile start web worker beat

# The build step: static files for whitenoise, collected again when the installed packages change
# (they all come from packages). Slow (about a minute: every file is hashed and gzipped), so not
# on every `make up`. The settings need their variables; collectstatic uses none of them.
$(STATIC_MANIFEST): $(VENV)/.installed-local
	DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=collectstatic-only-not-a-secret \
	DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 DJANGO_ALLOWED_HOSTS=localhost \
	CELERY_BROKER_URL=amqp://build@localhost:5672// \
	$(BIN)/python manage.py collectstatic --noinput --clear --verbosity 0

up-env:
	@test -n "$$DATABASE_URL" || { echo "make up needs DATABASE_URL, e.g. export DATABASE_URL=postgres://postgres@127.0.0.1:5432/paeshift" >&2; exit 2; }
	@test -n "$$REDIS_URL" || { echo "make up needs REDIS_URL, e.g. export REDIS_URL=redis://127.0.0.1:6379/0 (the cache; the broker is CELERY_BROKER_URL, default $(LOCAL_BROKER_URL))" >&2; exit 2; }

# Every test with the test settings, then the tests that must also hold with django-silk recording every
# request (config.settings.test_silk). With PostgreSQL and Redis, the tests that start processes (stack,
# private servers, cluster, replica, browser) run beside the others in a lane of their own (tests/lanes.py:
# Redis databases N..N+3 of REDIS_URL's N, and a second PostgreSQL database); TEST_LANES=1 runs one lane.
test: lint venv-test
	PYTEST_SILK_ARGS='$(PYTEST_SILK_ARGS)' $(BIN)/python -m tests.lanes $(PYTEST_ARGS)

# Only the tests past one machine (marker `scale`, tests/scale/): a Redis Cluster with failover, RabbitMQ,
# several web nodes and workers, a PostgreSQL read replica, all started on loopback (docs/scaling.md).
# `make test` runs them too.
test-scale: venv-test
	$(BIN)/python -m pytest -m scale tests/scale $(PYTEST_ARGS)

# Regenerates docs/performance.md: every GET endpoint cold and warm against its query budget.
perf-report: migrate
	$(BIN)/python manage.py perf_report --markdown docs/performance.md --json docs/performance.json

# Regenerates docs/images/dashboard.png: the Grafana dashboard's queries plotted from the Prometheus that
# tests/ops/test_observability.py runs against a Procfile stack (needs DATABASE_URL, REDIS_URL and
# Debian's prometheus package). docs/operations.md.
dashboard-png: venv-test
	DASHBOARD_PNG=docs/images/dashboard.png $(BIN)/python -m pytest -q -p no:cacheprovider tests/ops/test_observability.py

# schema.yaml, the OpenAPI document clients are generated from (docs/api-clients.md), regenerated from the code
# with production settings (the API a deployment serves: no benchmark floor). tests/common/test_schema_file.py
# fails, with the breaking changes listed, until the regenerated file is committed. No service is reached.
SCHEMA_ENV := DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=schema-only-not-a-secret \
	DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 DJANGO_ALLOWED_HOSTS=localhost \
	CELERY_BROKER_URL=amqp://build@localhost:5672//

schema: venv
	$(SCHEMA_ENV) $(BIN)/python manage.py spectacular --file schema.yaml --validate --fail-on-warn

# A typed Python client generated from schema.yaml with openapi-python-client (config: clients/python.yaml): the
# package clients/python/paeshift_client (not committed: the schema is the contract, the client is built from it;
# use it with PYTHONPATH=clients/python).
client: venv-test
	$(BIN)/openapi-python-client generate --path schema.yaml --config clients/python.yaml \
		--output-path clients/python/paeshift_client --overwrite --meta none
	$(BIN)/ruff format --quiet clients/python

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles

# The whole stack under the workload, configuration by configuration (docs/benchmarks/README.md):
# needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL, else the local defaults). Options of
# `manage.py bench --help` go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--duration 60 --profile".
bench: venv-bench
	$(BIN)/python manage.py bench $(BENCH_ARGS)

bench-smoke: venv-bench
	$(BIN)/python manage.py bench --smoke $(BENCH_ARGS)

bench-scale: venv-bench
	$(BIN)/python manage.py bench --scale-series $(BENCH_ARGS)
