# modelshelf: `make install` builds .venv; `make demo` runs the main job; `make test` the suite.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml package.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,interop]'
	npm install --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: install
	$(BIN)/python -m modelshelf.demo

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

bench: install
	$(BIN)/python benchmarks/run_all.py

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

# The documentation site, built strictly (a broken link or a docstring warning fails); HTML in
# build/site. See docs/how-to/contributing.md.
.PHONY: docs
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet -d build/site

clean:
	rm -rf $(VENV) node_modules .pytest_cache
