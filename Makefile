# fraudprep: `make demo` sets everything up and runs the workflow on the bundled demo corpus;
# `make test` runs the checks and the test suite (what CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# What only the tests need: PyTorch (CPU) for the worked example in examples/.
TEST_EXTRAS := $(VENV)/.test-extras
DEMO_DIR := data/demo
# The demo corpus listed with each fake's TTS engine as its attack (dataset: csv), so that the
# outputs, the report and the worked example can break results down by attack.
DEMO_LISTING := $(DEMO_DIR)-protocol.csv
# The demo's settings for every command after `make demo` (README): that listing, as the
# demo run uses it. tests/repo/test_demo_config.py checks the two name the same file.
DEMO_CONFIG := config-demo.yaml
CORES ?= 2

.PHONY: demo test setup test-extras system-deps demo-data lint format lock clean bench docs

demo: setup system-deps demo-data
	$(BIN)/fraudprep run --cores $(CORES) --configfile $(DEMO_CONFIG)

test: setup test-extras system-deps lint
	$(BIN)/python -m pytest

setup: $(INSTALLED)

$(INSTALLED): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

test-extras: $(TEST_EXTRAS)

$(TEST_EXTRAS): requirements-test.txt $(INSTALLED)
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

system-deps:
	bash tools/install-system-deps.sh

demo-data: setup system-deps
	$(BIN)/python -m tools.demo_corpus $(DEMO_DIR) --protocol $(DEMO_LISTING)

lint: setup
	$(BIN)/ruff check src tools workflow tests examples bench
	$(BIN)/ruff format --check src tools workflow tests examples bench
	$(BIN)/snakefmt --check Snakefile rules
	# A listing path stands in for the data: linting reads no audio.
	$(BIN)/snakemake --lint --cores 1 --config listing=lint-placeholder.csv

format: setup
	$(BIN)/ruff format src tools workflow tests examples bench
	$(BIN)/ruff check --fix src tools workflow tests examples bench
	$(BIN)/snakefmt Snakefile rules

# docs/configuration.md, generated from schemas/config.schema.yaml (tools/config_docs.py);
# tests/test_docs.py fails when it is stale.
docs: setup
	$(BIN)/python -m tools.config_docs

lock: setup
	{ echo "# Exact versions for the venv made by 'make setup' (regenerate: make lock)."; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock

# benchmarks/: Snakemake benchmark files of runs before they moved under output_dir (the
# bench's code is in bench/).
clean:
	rm -rf data/preprocessed .snakemake logs benchmarks/*/ benchmarks/*.tsv

# `make bench`: throughput and memory figures against the seed's librosa pipeline, written to
# bench/results.md and results.png (see bench/README.md). Not a test: it only
# measures. `make bench N=10000`; more options via BENCH_ARGS, e.g. BENCH_ARGS=--scale.
N ?= 2000
BENCH_ARGS ?=

bench: setup
	$(BIN)/python -m bench --files $(N) $(BENCH_ARGS)
