# PaperQA — `make run` (chat UI on the bundled corpus) and `make test` (the whole suite).
# Both install everything first and are safe to run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# infinity-emb (the embedding server the server tests run) pins numpy<2 and an older
# transformers: it gets a venv of its own, with the same CPU torch.
INFINITY_VENV ?= .venv-infinity
INFINITY := $(INFINITY_VENV)/bin/infinity_emb

# Offline at run time: nothing may download weights or phone home.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
# llama.cpp is compiled from source; a native (-march=native) build crashes on some CPUs.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install infinity run test check lint eval browser clean reset

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# torch first, pinned: the local CPU wheel. A looser requirement resolved later pulls GBs of CUDA.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

$(INFINITY):  ## ~1 min of CPU, ~1.3 GB: the torch wheel first, as for the project
	@test -x $(INFINITY_VENV)/bin/python || $(PYTHON) -m venv $(INFINITY_VENV)
	$(INFINITY_VENV)/bin/pip install -q torch==2.13.0
	$(INFINITY_VENV)/bin/pip install -q "infinity-emb[server,torch]==0.0.78"

infinity: $(INFINITY)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

run: install
	$(BIN)/paperqa serve

lint: install
	$(BIN)/ruff check src ui tests eval benchmarks
	$(BIN)/mypy

test: install browser infinity lint
	$(BIN)/python -m pytest

check: install  ## the fast tier: lint, types and the tests that need no model (under a minute)
	$(BIN)/ruff check src ui tests eval benchmarks
	$(BIN)/ruff format --check src ui tests eval benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not slow"

EVAL_SETS = dev questions-b paraphrase summaries comparisons-b comparisons-c summaries-b described followups near-miss which-paper which-paper-b

eval: install
	@# Retrieval weights tuned on dev; what each other set was tuned on or read for: eval/README.md.
	@for set in $(EVAL_SETS); do \
		$(BIN)/paperqa eval --questions eval/$$set.jsonl --answers --report eval/reports/$$set || exit 1; \
	done

reset: install
	$(BIN)/paperqa reset --yes

clean:
	rm -rf $(VENV) $(INFINITY_VENV) artifacts .pytest_cache .mypy_cache .ruff_cache
