# Newsroom tagger: the commands README names. Each target sets up what it needs first, and set-up is
# idempotent: the virtualenv is made once, and packages are installed again only when pyproject.toml
# changes (the stamp file below is older than it).
#
#   make run    the service on http://127.0.0.1:8000 with the embedded model, offline
#   make test   the test suite
#   make spec   regenerate openapi.yaml from the schemas (commit it; a test checks it)
#   make lint   ruff and mypy

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first, pinned to the CPU build (pip finds the wheel on this machine's disk / the CPU index);
# installing the package first would let pip pull a multi-GB CUDA build of torch.
TORCH  ?= torch==2.13.0
EXTRAS ?= test,dev
STAMP  := $(VENV)/.installed-$(EXTRAS)

# The service never reaches a model hub at run time: the embedded model is a local folder.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

HOST  ?= 127.0.0.1
PORT  ?= 8000
MODEL ?= models/embedded

.PHONY: help setup run test spec lint model

help:
	@echo "make run    serve http://$(HOST):$(PORT) with the embedded model (offline)"
	@echo "make test   run the tests"
	@echo "make spec   regenerate openapi.yaml"
	@echo "make lint   ruff + mypy"

# --- set-up ----------------------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

setup: $(STAMP)

# --- the model ------------------------------------------------------------------------------------
# LEAD: the embedded model's build/cache step goes here (models/build.py); `run` and `test` depend on
# it. Until then this only checks that the folder is there.
model: setup
	@test -d $(MODEL) || { echo "no model at $(MODEL): build it first (see models/)"; exit 1; }

# --- the service ----------------------------------------------------------------------------------

run: setup model
	TAGGER_HOST=$(HOST) TAGGER_PORT=$(PORT) TAGGER_MODEL=$(abspath $(MODEL)) \
		$(BIN)/gunicorn -c gunicorn.conf.py service.wsgi:app

# pytest exits 5 when it collects nothing; that is a failure here too.
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

spec: setup
	$(BIN)/python -m service.api.spec > openapi.yaml.tmp && mv openapi.yaml.tmp openapi.yaml
	@echo "openapi.yaml regenerated"

lint: setup
	$(BIN)/ruff check service tests models bench
	$(BIN)/mypy

# LEAD: eval, bench and model-building targets go below.
