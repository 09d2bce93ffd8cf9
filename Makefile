# modelshelf: `make install` builds .venv from the lock file; `make demo` runs the main job;
# `make test` the suite; `make lint` every static check. See docs/how-to/contributing.md.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
# uv installs the locked environment (one well-kept tool, a resolver and installer in one binary,
# ~10x faster than pip here). Its own version is pinned so every machine runs the same one.
UV_VERSION := 0.13.9
UV := $(BIN)/uv
# The extras the development environment is made of; `make lock` resolves them.
DEV_EXTRAS := --extra dev --extra interop
# A local wheel folder pip is configured with (the CPU build of torch lies there on our machines).
FIND_LINKS ?= $(shell $(PY) -m pip config get global.find-links 2>/dev/null)
UV_FIND := $(if $(FIND_LINKS),--find-links $(FIND_LINKS))
LOCK_FLAGS := --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	--constraints requirements/lock-constraints.txt $(UV_FIND) --quiet

.PHONY: install demo test test-fast test-latest bench lint lock relock lock-check clean

install: $(STAMP)

$(UV):
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml package.json $(LOCK) | $(UV)
	$(UV) pip sync --python $(BIN)/python $(UV_FIND) $(LOCK)
	$(UV) pip install --python $(BIN)/python --no-deps -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: install
	$(BIN)/python -m modelshelf.demo

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

lint: install lock-check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/lint-imports
	$(MAKE) docs

# `make lock` refreshes the lock: the newest versions pyproject.toml's ranges allow.
# `make relock` only reconciles it with an edited pyproject.toml, keeping every pin it can.
lock: | $(UV)
	$(UV) pip compile pyproject.toml $(DEV_EXTRAS) $(LOCK_FLAGS) --upgrade -o $(LOCK)
	$(MAKE) install

relock: | $(UV)
	$(UV) pip compile pyproject.toml $(DEV_EXTRAS) $(LOCK_FLAGS) -o $(LOCK)
	$(MAKE) install

# Fails when pyproject.toml changed without `make lock` (resolves with the lock's pins kept).
lock-check: | $(UV)
	mkdir -p build && cp $(LOCK) build/lock-check.txt
	$(UV) pip compile pyproject.toml $(DEV_EXTRAS) $(LOCK_FLAGS) -o build/lock-check.txt
	diff <(grep -v '^#' $(LOCK)) <(grep -v '^#' build/lock-check.txt) \
		|| { echo "requirements/dev.lock is stale: run 'make lock'"; exit 1; }

# The suite in a throw-away environment with the newest versions every range allows: shows an
# upcoming break before a lock refresh (or a user's fresh install) meets it. Not part of CI.
LATEST := build/latest-venv
test-latest: install
	rm -rf $(LATEST)
	$(UV) venv -q --seed --python $(BIN)/python $(LATEST)
	$(UV) pip install --python $(LATEST)/bin/python --resolution highest \
		--constraints requirements/lock-constraints.txt $(UV_FIND) -e '.[dev,interop]'
	$(UV) pip freeze --python $(LATEST)/bin/python > build/latest-freeze.txt
	$(LATEST)/bin/python -m pytest -n 2 --dist loadgroup -p no:cacheprovider

bench: install
	$(BIN)/python benchmarks/run_all.py

# The documentation site, built strictly (a broken link or a docstring warning fails); HTML in
# build/site. See docs/how-to/contributing.md.
.PHONY: docs
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d build/site 2>&1 | grep -v '^INFO' ; exit $${PIPESTATUS[0]}

clean:
	rm -rf $(VENV) node_modules .pytest_cache build
