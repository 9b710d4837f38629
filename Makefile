# Paeshift backend. `make run` serves the API with embedded defaults; `make test` runs every test.
# Set DATABASE_URL and REDIS_URL to use PostgreSQL and Redis instead (same commands).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQUIREMENTS := requirements/base.txt requirements/production.txt requirements/local.txt requirements/constraints.txt
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate seed venv clean perf-report

venv: $(VENV)/.installed

$(VENV)/.installed: $(REQUIREMENTS)
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/local.txt -c requirements/constraints.txt
	touch $@

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
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Regenerates docs/performance.md: every GET endpoint cold and warm against its query budget.
perf-report: migrate
	$(BIN)/python manage.py perf_report --markdown docs/performance.md --json docs/performance.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
