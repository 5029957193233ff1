# `make demo` starts the product on its embedded defaults; `make test` runs the suite.
# Both install what they need: the virtual environment, pip packages and Debian packages. The demo
# installs only the product's (requirements.txt, `install-system-deps.sh --demo`); the tests,
# lint and benchmarks add the development tools (requirements-dev.txt) and the Debian packages
# only the tests use (Chromium, promtool, every test camera codec).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Branch coverage may not fall below these: over every product package, and over devices/ and
# snapshots/, the register and the capture service; raise them, never lower them.
COVERAGE_FLOOR := 94
COVERAGE_FLOOR_CORE := 97
PRODUCT_PACKAGES := capture/*,webhooks/*,devices/*,apikeys/*,jobs/*,monitoring/*,snapshots/*,exports/*,wall/*,vas_project/*
# Generated requests per API operation in `make fuzz` (every `make test` runs 15).
FUZZ_EXAMPLES ?= 300

.PHONY: demo demo-camera-video test faulttest fuzz lint format loadtest bench system-deps demo-system-deps install install-product clean

$(BIN)/python:
	@echo "make: creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)

# The product's packages only: what `make demo` (and a server) runs on.
$(VENV)/.installed-product: requirements.txt | $(BIN)/python
	@echo "make: installing the product's Python packages (requirements.txt) into $(VENV)"
	$(BIN)/pip install -q -r requirements.txt
	touch $@

# The product's and the development tools (pytest, ruff, mypy, Playwright, Schemathesis...).
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	@echo "make: installing the Python packages of the tests and tools (requirements-dev.txt) into $(VENV)"
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed-product

install-product: $(VENV)/.installed-product

install: $(VENV)/.installed

system-deps:
	bash scripts/install-system-deps.sh

demo-system-deps:
	bash scripts/install-system-deps.sh --demo

# The Python packages install while the demo camera's video is encoded (both the first time only).
demo: demo-system-deps
	@$(MAKE) --no-print-directory -j2 install-product demo-camera-video
	HOST=$(HOST) PORT=$(PORT) bash scripts/demo.sh

# The one video the demo camera plays (/h264), encoded once into .cache/test-camera; needs
# demo-system-deps (FFmpeg, GStreamer), which `make demo` installs first.
demo-camera-video:
	/usr/bin/python3 scripts/test_camera.py --port 0 --encode-only --only /h264

test: install system-deps
	$(BIN)/pytest --cov --cov-report=term
	$(BIN)/coverage report --include='$(PRODUCT_PACKAGES)' --fail-under=$(COVERAGE_FLOOR)
	$(BIN)/coverage report --include='devices/*,snapshots/*' --fail-under=$(COVERAGE_FLOOR_CORE)

# The fault suite (about 3 minutes): gunicorn, the keeper and commands as real processes, with a
# worker killed, PostgreSQL connections killed, the cache and the broker down or hanging, cameras that
# hang or cut off mid-frame. On the local PostgreSQL unless DATABASE_URL names another; needs Redis.
faulttest: install system-deps
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "make faulttest needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	@redis-cli -h 127.0.0.1 ping >/dev/null || { echo "make faulttest needs Redis on 127.0.0.1:6379" >&2; exit 1; }
	createdb -h 127.0.0.1 -U postgres vas 2>/dev/null || true
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/vas} $(BIN)/pytest -p no:cacheprovider -m fault -v

# Schemathesis against the API's own schema with many examples per operation: 0 server errors.
fuzz: install
	VAS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:cacheprovider vas_project/tests/test_fuzz.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/hadolint Dockerfile

# 50 clients for 60 s against gunicorn on the local PostgreSQL (database vas_load).
loadtest: install system-deps
	createdb -h 127.0.0.1 -U postgres vas_load 2>/dev/null || true
	$(BIN)/python bench/loadtest.py --clients 50 --seconds 60

# Every benchmark on this machine (about 75 minutes), written to docs/benchmarks.md; needs PostgreSQL and Redis.
bench: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "make bench needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
	bash scripts/install-system-deps.sh wrk
	createdb -h 127.0.0.1 -U postgres vas_bench 2>/dev/null || true
	createdb -h 127.0.0.1 -U postgres vas_prune 2>/dev/null || true
	createdb -h 127.0.0.1 -U postgres vas_load 2>/dev/null || true
	$(BIN)/python bench/run_all.py

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .cache .pytest_cache .coverage htmlcov
