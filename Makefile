# `make demo` starts the product on its embedded defaults; `make test` runs the suite.
# Both install what they need: the virtual environment, pip packages and Debian packages.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test system-deps install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

system-deps:
	bash scripts/install-system-deps.sh

demo: install system-deps
	env -u DATABASE_URL $(BIN)/python manage.py migrate --no-input
	env -u DATABASE_URL $(BIN)/python manage.py demo_setup
	env -u DATABASE_URL $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install system-deps
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .cache .pytest_cache .coverage htmlcov
