# The workbench's commands. `make help` lists them. `make demo` and `make test` set up
# everything on a fresh machine (a .venv with pinned packages; Pango via apt if missing).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help install sysdeps data demo test test-fast test-render test-sim lint format lab batch bench bench-big bench-batch bench-communes bench-scale bench-timings bench-plan clean

help: ## List the commands
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory sysdeps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

install: $(STAMP) ## Create .venv and install the pinned packages and the workbench

sysdeps: ## Install Pango and fonts for PDF output with apt, only when missing
	@if ! ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so'; then \
	  echo "Pango (for WeasyPrint PDFs) is missing: installing it with apt"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; \
	fi
	@if ! ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so'; then \
	  echo "HarfBuzz-subset (fast font subsetting for PDFs) is missing: installing it with apt"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends libharfbuzz-subset0 \
	    || echo "(not installed: PDFs still work, font subsetting is slower)"; \
	fi

DEMO_DATA := data/processed/synthetic/dossiers_manifest.json

data: $(DEMO_DATA) ## Write the embedded synthetic panel and 300,000 dossiers (data/processed/synthetic/)

$(DEMO_DATA): $(STAMP)
	$(BIN)/workbench synth --dossiers 300000

demo: $(STAMP) ## Synthetic data, two measure briefs, a quarterly report, the national overview, a scorecard
	$(BIN)/workbench synth --dossiers 300000
	$(BIN)/workbench batch runs/demo.yaml
	@echo
	@echo "Briefs are under reports/briefs/, the quarterly report and overview under reports/2023Q3/,"
	@echo "the scorecard under reports/2024Q2/ (.html, .pdf, .xlsx and a .manifest.json each);"
	@echo "runs/demo.yaml lists them (one batch, warm kernels: a document already made is skipped)."

lint: $(STAMP) ## ruff: lint and format check (code and notebooks)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks

format: $(STAMP) ## ruff: fix imports and format
	$(BIN)/ruff check --fix src tests benchmarks notebooks
	$(BIN)/ruff format src tests benchmarks notebooks

test-fast: $(STAMP) ## Tests without documents rendered, batches, simulations or slow runs (< 3 min)
	$(BIN)/pytest -q -m "not slow and not simulation and not render and not batch"

test-render: $(STAMP) ## Documents end to end: notebooks executed, HTML/PDF/XLSX rendered, batches
	$(BIN)/pytest -q -m "(render or batch) and not slow and not simulation"

test-sim: $(STAMP) ## Simulation tests: fresh panels against the designs' coverage (a few minutes)
	$(BIN)/pytest -q -m simulation

# Two lanes side by side, one a core: the simulations are pure CPU in one process and the rest
# waits on kernels and subprocesses much of the time; both must pass.
test: lint ## Lint and run every test (notebooks executed with papermill included), two lanes at once
	@log=$$(mktemp); \
	$(BIN)/pytest -q -p no:cacheprovider -m simulation > $$log 2>&1 & sim=$$!; \
	$(BIN)/pytest -q -m "not simulation"; rest=$$?; \
	wait $$sim; s=$$?; \
	echo "--- simulation lane (pytest -m simulation) ---"; cat $$log; rm -f $$log; \
	test $$rest -eq 0 && test $$s -eq 0

lab: $(DEMO_DATA) ## Open JupyterLab on notebooks/ (kernel: this .venv; synthetic data made if missing)
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP) ## Speed benchmarks, each a ratio against its baseline in one run (benchmarks/results/)
	$(BIN)/python benchmarks/bench_documents.py
	$(BIN)/python benchmarks/bench_its.py
	$(BIN)/python benchmarks/bench_did_cs.py
	$(BIN)/python benchmarks/bench_synth_sdid.py --no-pysyncon

RUNS ?= runs/2025Q4.yaml
batch: $(STAMP) ## Every document of a run list (RUNS=runs/2023Q3.yaml): resumable; index in reports/<period>/
	$(BIN)/workbench batch $(RUNS)

bench-timings: $(STAMP) ## Wall-clock promises once asserted in unit tests (a quiet machine)
	$(BIN)/python benchmarks/check_timings.py

bench-plan: $(STAMP) ## The evaluation plan's stated power against fresh simulations, its known gaps (~5 min)
	nice -n 10 $(BIN)/python benchmarks/sim_plan.py

bench-batch: $(DEMO_DATA) ## Batch of 34 and 63 quarterly reports against the command lines one by one (~15 min)
	$(BIN)/python benchmarks/bench_batch.py --maps 34,63 --sample 10

bench-communes: $(DEMO_DATA) ## Index scorecards of every commune of 2024Q2 in one batch (SAMPLE=60: a sample, extrapolated)
	$(BIN)/python benchmarks/bench_communes.py --sample $(or $(SAMPLE),0)

bench-big: $(STAMP) ## Large-data benchmarks: 10 M-row import, 100 M-row index (~10 GB of disk in /tmp)
	$(BIN)/python benchmarks/bench_ingest_dossiers.py
	$(BIN)/python benchmarks/bench_index766.py

SCALE_ROWS ?= 1e7,2e7
SCALE_PERIOD ?= 2023
bench-scale: $(STAMP) ## Index engine vs a hand-written query at 1e7, 2e7 rows (SCALE_ROWS=5e8 SCALE_PERIOD=2020..2024: ~14 GB in /tmp)
	nice -n 10 $(BIN)/python benchmarks/bench_scale.py --rows $(SCALE_ROWS) --period $(SCALE_PERIOD)

clean: ## Remove generated data and reports (keeps .venv)
	rm -rf data/processed/synthetic
	find reports -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
