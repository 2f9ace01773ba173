# Sanzi: the two commands of the README, and the translation catalog.
#   make run    set up, create the SQLite database under instance/, load the demo, serve on 127.0.0.1:5000
#               (with the notice worker beside gunicorn)
#   make test   set up, then ruff, mypy and the whole pytest suite
#   make i18n   extract the Chinese source strings and update + compile the English catalog

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app finance
HOST ?= 127.0.0.1
PORT ?= 5000
# pytest-xdist workers; PYTEST_WORKERS=0 runs in one process
PYTEST_WORKERS ?= 2
LINT_PATHS := finance audit tests $(wildcard bench)

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test setup db serve lint types pytest i18n clean

run: setup db serve

test: setup lint types pytest

setup:
	@bash scripts/setup.sh

db:
	@mkdir -p instance
	@$(FLASK) db upgrade >/dev/null
	@$(FLASK) seed-demo --if-empty

# The notice worker runs beside gunicorn and stops with it. Without SMTP/SMS settings (docs/notices.md) it
# writes what it would send to instance/notices-sent.log.
serve:
	@echo "Sanzi is serving on http://$(HOST):$(PORT)/  (Ctrl-C stops it); notices: instance/notices-sent.log"
	@$(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(BIN)/gunicorn --preload --workers 2 --threads 4 --bind $(HOST):$(PORT) \
		--access-logfile - "finance:create_app()"

lint:
	@echo "==> ruff check"
	@$(BIN)/ruff check $(LINT_PATHS)

types:
	@echo "==> mypy"
	@$(BIN)/mypy

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
pytest:
	@echo "==> pytest"
	@if [ "$(PYTEST_WORKERS)" = "0" ]; then xdist=""; else xdist="-n $(PYTEST_WORKERS)"; fi; \
	$(BIN)/pytest -q $$xdist; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

i18n: setup
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --ignore-dirs ".* node_modules .venv" \
		--project sanzi -o finance/translations/messages.pot .
	$(BIN)/pybabel -q update -i finance/translations/messages.pot -d finance/translations -l en \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -f -d finance/translations

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
