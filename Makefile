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

.PHONY: install install-model run test lint template-lint openapi bench sam-validate sam-build checkov \
        bench-retrieval bench-intelligence bench-load bench-coldstart fuzz clean

$(STAMP): shared/pyproject.toml requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e 'shared[aws,local]' -r requirements-dev.txt
	touch $@

# The local semantic embedder: torch's CPU build first so nothing pulls the CUDA wheels.
$(MODEL_STAMP): $(STAMP)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e 'shared[aws,local,model]'
	touch $@

install: $(STAMP)

install-model: $(MODEL_STAMP)

run: $(MODEL_STAMP)
	PORT=$(PORT) $(PY) -m engram.local

lint: $(STAMP)
	$(VENV)/bin/ruff check shared functions tests bench
	$(VENV)/bin/ruff format --check shared functions tests bench
	$(VENV)/bin/mypy

template-lint: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml

openapi: $(STAMP)
	$(PY) -m engram.api.openapi_build --write

test: $(STAMP) lint template-lint
	$(PY) -m pytest -q -n 2 --dist loadfile

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

bench-intelligence: $(MODEL_STAMP)
	$(PY) -m bench.intelligence --persona $(PERSONA) --locomo $(DATA) --dialogsum $(DIALOGSUM) --out bench/results/intelligence.json

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

bench-retrieval: $(MODEL_STAMP)
	$(PY) bench/retrieval.py --data $(DATA) --embedders hashing,local --store memory --out bench/results/retrieval.json

# --- load benchmark, fault tests and the benchmark report (bench/load.py, bench/report.py, tests/faults) ---
LOAD_WORKERS ?= 24
LOAD_DURATION ?= 40
LOAD_FLAGS ?=

.PHONY: bench-load bench-report faults

bench-load: $(STAMP)
	$(PY) -m bench.load --workers $(LOAD_WORKERS) --duration $(LOAD_DURATION) $(LOAD_FLAGS) --out bench/results/load.json

faults: $(STAMP)
	$(PY) -m pytest -q tests/faults

bench-report: $(STAMP)
	$(PY) -c "import matplotlib" 2>/dev/null || $(PIP) install -q matplotlib
	$(PY) -m bench.report

# every benchmark that has a target (a missing or failing one is noted in the report), then the report
bench: $(STAMP)
	@for target in bench-retrieval bench-intelligence bench-load bench-coldstart; do \
		$(MAKE) --no-print-directory $$target || echo "bench: $$target failed or is not defined; see REPORT.md"; \
	done
	$(MAKE) --no-print-directory bench-report
