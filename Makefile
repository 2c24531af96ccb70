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

.PHONY: demo test venv lint clean-results

venv: $(STAMP)

# Re-installs when pyproject.toml changes. torch and torchvision come together
# from PyPI (torchvision's wheels need the matching CUDA build of torch, which runs on CPU too).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

demo: venv
ifeq ($(DRIVER),dvc)
	dvc repro
else ifeq ($(DRIVER),snakemake)
	snakemake --cores $(CORES)
else
	$(error DRIVER must be snakemake or dvc, not '$(DRIVER)')
endif

test: venv
	python -m pytest $(PYTEST_ARGS)

lint: venv
	snakemake --lint

clean-results:
	rm -rf results/data results/logs results/runs results/features results/metrics results/report .snakemake
