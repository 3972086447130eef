# The whole set-up on a fresh machine is one of these two commands:
#   make demo   - install, initialise the embedded database under var/, serve the console
#   make test   - install with dev tools, run the gates and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test install install-dev frontend chromium fonts services lint typecheck pytest clean

demo: install frontend fonts
	$(BIN)/siyu demo

test: install-dev frontend chromium fonts services lint typecheck pytest

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "siyu needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# htmx and ECharts come from the npm registry at set-up and are served by siyu itself.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
frontend: node_modules/.package-lock.json

# Browser tests drive Debian's Chromium; a test tool never downloads its own browser.
chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Share posters and channel-code posters draw Chinese text: a CJK font from Debian.
fonts:
	@fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei fontconfig; }

# PostgreSQL and Redis run on the development and CI machines; start them if they stopped.
services:
	@bash .ci/services

lint: install-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install-dev
	$(BIN)/mypy siyu

pytest: install-dev
	$(BIN)/pytest -q -n 2

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
