# The two commands of the README: `make run` and `make test`. Everything else is set-up they call.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export KAMCRM_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test setup assets messages lint clean bench-smoke

$(PY_STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c requirements.lock -e '.[test]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: $(NODE_STAMP) $(PY_STAMP)
	$(PY) scripts/vendor_assets.py

# Compiled catalogues are committed; recompile when gettext is on the machine.
messages: $(PY_STAMP)
	@if command -v msgfmt >/dev/null; then cd kamcrm && ../$(PY) ../manage.py compilemessages -v0; fi

setup: $(PY_STAMP) assets messages

run: setup
	KAMCRM_DEBUG=1 $(PY) manage.py migrate --noinput -v0
	KAMCRM_DEBUG=1 $(PY) manage.py demo --if-empty
	KAMCRM_DEBUG=1 $(PY) manage.py import_resume -v0
	@# The task worker (imports run there) lives as long as the web server.
	KAMCRM_DEBUG=1 $(PY) manage.py db_worker --no-reload -v0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	KAMCRM_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

test: setup
	$(PY) scripts/run_tests.py

# The scale generator and the benchmark harness at a tiny scale, so that neither rots (CI runs this).
BENCH_DB := sqlite:///$(CURDIR)/data/bench-smoke.sqlite3
bench-smoke: $(PY_STAMP)
	rm -f data/bench-smoke.sqlite3*
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py generate --scale 0.01 --baseline 200
	DATABASE_URL=$(BENCH_DB) $(PY) bench/run.py --reps 3 --follow 3 --serve --serve-seconds 2 --workers 2 --clients 2 \
		--interfere --interfere-reps 3 --import-rows 200 --out data/bench-smoke.json
	DATABASE_URL=$(BENCH_DB) $(PY) bench/funnel_bench.py --reps 3 --out data/bench-smoke-funnel.json
	DATABASE_URL=$(BENCH_DB) $(PY) bench/export_bench.py --reps 1 --out data/bench-smoke-export.json
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py generate_targets
	DATABASE_URL=$(BENCH_DB) $(PY) bench/completion_bench.py --reps 2 --page-reps 1 --out data/bench-smoke-completion.json

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check kamcrm scripts bench

clean:
	rm -rf $(VENV) node_modules kamcrm/static/vendor staticfiles
