# Everything a fresh machine needs: `make run` and `make test` create the virtual
# environment and install what they use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CUREMAP_HOME ?= .curemap
HOST ?= 127.0.0.1
PORT ?= 8000
SHARED ?= ../shared
# Debian packages behind the browser tests (Chromium), the PDF report (Pango, for WeasyPrint)
# and the PostgreSQL storage tests; `make system-deps` installs whichever are missing.
SYSTEM_PACKAGES := chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 postgresql

.PHONY: run build report serve test bench eval snapshot clean system-deps

$(BIN)/curemap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: build report serve

# The living review (Markdown, HTML, PDF) from the store `build` made; PDF needs Pango.
report: $(BIN)/curemap system-deps
	$(BIN)/curemap --home $(CUREMAP_HOME) report --out $(CUREMAP_HOME)/report

build: $(BIN)/curemap
	$(BIN)/curemap --home $(CUREMAP_HOME) build --offline

serve: $(BIN)/curemap
	$(BIN)/curemap --home $(CUREMAP_HOME) serve --host $(HOST) --port $(PORT)

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

# A process per core (at most 4), each test file whole in one of them: its module's fixtures are
# made once. `pytest` by itself runs the suite in one process.
test: $(BIN)/curemap system-deps
	CUREMAP_SHARED=$(abspath $(SHARED)) $(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

bench: build
	$(BIN)/python bench/bench_enrich.py --db $(CUREMAP_HOME)/curemap.db
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_classify.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_warm.py --db $(CUREMAP_HOME)/curemap.db
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_verify.py

eval: build
	$(BIN)/curemap --home $(CUREMAP_HOME) eval $(foreach f,$(wildcard tests/data/strategy-audit/audit-*.jsonl),--audit $(f))
	$(BIN)/curemap eval --labels $(SHARED)/data/labels/ctgov-strategies-dev.csv --outcomes $(SHARED)/data/labels/outcomes-dev.jsonl
	$(BIN)/curemap eval --outcomes tests/data/outcomes/outcomes-trials-dev.jsonl --literature $(SHARED)/data/literature/evidence-inference-ms
	$(BIN)/curemap eval --outcomes tests/data/outcomes/outcomes-fulltext-dev.jsonl --literature $(SHARED)/data/literature/evidence-inference-ms
	$(BIN)/curemap eval --outcomes tests/data/outcomes/outcomes-fresh-heldout.jsonl
	$(BIN)/curemap eval --eligibility tests/data/eligibility/labels-dev.jsonl
	$(BIN)/curemap eval --eligibility tests/data/eligibility/labels-heldout.jsonl
	$(BIN)/curemap eval --eligibility tests/data/eligibility/labels-fresh.jsonl
	$(BIN)/curemap eval --eligibility tests/data/eligibility/labels-hint-dev.jsonl
	$(BIN)/curemap eval --eligibility tests/data/eligibility/labels-hint-heldout.jsonl
	$(BIN)/curemap eval --eligibility tests/data/eligibility/labels-registry-dev.jsonl
	$(BIN)/curemap eval --eligibility tests/data/eligibility/labels-registry-heldout.jsonl
	# the verifier against reviews with planted errors, and the curative-label audit: both read the built store
	$(BIN)/curemap --home $(CUREMAP_HOME) eval --verify tests/data/verify-reviews/dev
	$(BIN)/curemap --home $(CUREMAP_HOME) eval --verify tests/data/verify-reviews/heldout
	$(BIN)/curemap --home $(CUREMAP_HOME) eval --verify tests/data/verify-reviews/fresh

# Refresh the offline snapshot bundled in the package from the shared data.
snapshot:
	gzip -9nc $(SHARED)/data/ctgov/ctgov_ms_20250925.csv > src/curemap/snapshot/ctgov_ms_20250925.csv.gz
	gzip -9nc $(SHARED)/data/ctis/ctis_ms_20250924.csv > src/curemap/snapshot/ctis_ms_20250924.csv.gz
	gzip -9nc $(SHARED)/data/literature/ms_articles_2021_2022.csv > src/curemap/snapshot/ms_articles_2021_2022.csv.gz

clean:
	rm -rf $(VENV) $(CUREMAP_HOME) build dist src/*.egg-info .pytest_cache .hypothesis
