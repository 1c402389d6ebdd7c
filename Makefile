# Every target bootstraps the virtual environment it needs, so a fresh clone with only
# Python and make can run `make demo` or `make test` directly.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
GEN_PACKAGE := _breeze_blue_api
# The generator runs ruff as a post-hook from PATH; it must be our pinned ruff.
GENERATE = PATH="$(abspath $(BIN)):$$PATH" $(BIN)/openapi-python-client generate \
	--path openapi.yaml --config generator-config.yaml --meta none --fail-on-warning

.PHONY: install generate check-generated spec cassettes lint format typecheck test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

## Regenerate generated/ from scratch (--overwrite would keep stale files).
generate: $(STAMP)
	rm -rf generated
	$(GENERATE) --output-path generated/$(GEN_PACKAGE)

## Regenerate into a temporary folder and fail on any difference, added or removed files included.
check-generated: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GENERATE) --output-path "$$tmp/$(GEN_PACKAGE)" >/dev/null && \
	diff -r -x __pycache__ "$$tmp/$(GEN_PACKAGE)" generated/$(GEN_PACKAGE) && \
	echo "generated/ matches openapi.yaml"

spec: $(STAMP)
	$(BIN)/openapi-spec-validator openapi.yaml

## Re-record the cassettes from the bundled reference server (never written by hand).
cassettes: $(STAMP)
	rm -rf tests/cassettes
	$(BIN)/python -m tests.record_cassettes

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

## The README's test command: linters, types, the generated-code check, the spec, pytest.
test: lint typecheck check-generated spec
	$(BIN)/python -m pytest

## The README's main job: start the reference server, download a history item's audio, stop it.
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## Benchmarks (not part of make test): loopback nginx, every client side by side, results in benchmarks/.
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache downloads
