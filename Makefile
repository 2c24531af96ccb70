# Two commands do all the set-up (each creates or reuses .venv/ by itself):
#   make demo    run the pipeline on the embedded default (DRIVER=snakemake or DRIVER=dvc)
#   make test    run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
DRIVER ?= snakemake
CORES ?= 2
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: demo test venv lint clean-results constraints

venv: $(STAMP)

# Re-installs when pyproject.toml or the constraints change. The constraints pin
# the exact versions the tests passed with; torch and torchvision come together
# from PyPI (torchvision's wheels need the matching CUDA build of torch, which runs on CPU too).
CONSTRAINTS := requirements/constraints.txt
$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@

# Re-pin after a change of pyproject.toml ranges: a fresh resolve, then the tests.
constraints:
	rm -rf .venv-pin && $(PYTHON) -m venv .venv-pin
	.venv-pin/bin/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	{ sed -n '1,3p' $(CONSTRAINTS); .venv-pin/bin/python -m pip freeze --exclude-editable | grep -vi '^pipeline.src'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS) && rm -rf .venv-pin

demo: venv
ifeq ($(DRIVER),dvc)
	dvc repro
else ifeq ($(DRIVER),snakemake)
	snakemake --cores $(CORES)
else
	$(error DRIVER must be snakemake or dvc, not '$(DRIVER)')
endif

# Test files run in parallel, one per worker (--dist loadfile keeps a file's module fixtures, the Slurm
# cluster among them, in one process); WORKERS=0 runs them one by one in this process.
WORKERS ?= 2
test: venv
	python -m pytest -n $(WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: venv
	snakemake --lint

clean-results:
	rm -rf results/data results/logs results/runs results/features results/metrics results/report .snakemake
