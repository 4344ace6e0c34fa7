# The two commands the README promises: `make demo` and `make test`.
# Each creates or refreshes .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(EXTRAS)

.PHONY: demo test test-fast bench venv clean chromium smtp-sink

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

$(VENV)/.installed-base: pyproject.toml node_modules/.installed | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[letters]'
	touch $@

$(VENV)/.installed-test: pyproject.toml node_modules/.installed | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed-base
	$(BIN)/civic demo

# The portal's browser tests drive Debian's Chromium; Playwright never downloads a browser.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: the browser tests will skip (apt-get install chromium)"; fi; }

# The notify benchmark sends to Postfix's smtp-sink (a C test server) where it is installed, else to
# aiosmtpd. Postfix is installed unconfigured ("No configuration"), so no mail server starts with it.
smtp-sink:
	@test -x /usr/sbin/smtp-sink || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null; } \
	      || echo "Postfix could not be installed: the notify benchmark will use aiosmtpd"; \
	  else echo "Postfix's smtp-sink is missing: the notify benchmark will use aiosmtpd (apt-get install postfix)"; fi; }

# Everything, in two passes: the unit and integration tests on every core (as test-fast), then
# the suites that start servers, browsers and process trees of their own, one at a time.
SERIAL := browser or e2e or slow or bench or fuzz

test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest -q -n auto --dist loadscope -m "not ($(SERIAL))"
	$(BIN)/python -m pytest -q -m "$(SERIAL)"

# The quick loop: unit and integration tests on SQLite and PostgreSQL, without the browser,
# end-to-end, crash, fuzzing and benchmark suites, on every core (pytest-xdist; each test makes
# its own databases, so workers never share one).
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n auto --dist loadscope -m "not ($(SERIAL))"

bench: $(VENV)/.installed-bench smtp-sink
	$(BIN)/python bench/engine.py --events 20000 --db sqlite --workers 2 --json bench/results/engine-sqlite.json
	$(BIN)/python bench/engine.py --events 20000 --db postgres --workers 2 --json bench/results/engine-postgres.json
	$(BIN)/python bench/registry.py --people 1000000 --db sqlite --json bench/results/registry-sqlite.json
	$(BIN)/python bench/sweep.py --people 1000000 --json bench/results/sweep.json
	$(BIN)/python bench/notify.py --messages 20000 --json bench/results/notify-sqlite.json
	$(BIN)/python bench/layoff.py --people 10000 --effect-batch 400 --slice 200 --json bench/results/layoff-sqlite.json
	$(BIN)/python bench/portal.py --people 100000 --json bench/results/portal-sqlite.json
	$(BIN)/python bench/cases.py --cases 100000 --json bench/results/cases-sqlite.json
	$(BIN)/python bench/insights.py --journeys 1000000 --db sqlite --json bench/results/insights-sqlite.json
	$(BIN)/python bench/insights.py --journeys 1000000 --db postgres --json bench/results/insights-postgres.json
	$(BIN)/python bench/backbone.py --events 300 --subscribers 100 --json bench/results/backbone-postgres.json
	$(BIN)/python bench/lifetime.py --people 1000000 --json bench/results/lifetime-sqlite.json
	$(BIN)/python bench/payments.py --awards 1000000 --json bench/results/payments-sqlite.json
	$(BIN)/python bench/figures.py --write

clean:
	rm -rf $(VENV) .civic
