# PaperQA — `make run` (chat UI on the bundled corpus) and `make test` (the whole suite).
# Both install everything first and are safe to run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Offline at run time: nothing may download weights or phone home.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
# llama.cpp is compiled from source; a native (-march=native) build crashes on some CPUs.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test check lint eval browser clean reset

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# torch first, pinned: the local CPU wheel. A looser requirement resolved later pulls GBs of CUDA.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

run: install
	$(BIN)/paperqa serve

lint: install
	$(BIN)/ruff check src ui tests eval benchmarks
	$(BIN)/mypy

test: install browser lint
	$(BIN)/python -m pytest

check: install  ## the fast tier: lint, types and the tests that need no model (under a minute)
	$(BIN)/ruff check src ui tests eval benchmarks
	$(BIN)/ruff format --check src ui tests eval benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not slow"

eval: install
	@# Tuned on dev; reported on questions-b and on the paraphrase and summary slices.
	$(BIN)/paperqa eval --questions eval/dev.jsonl --answers --report eval/reports/dev
	$(BIN)/paperqa eval --questions eval/questions-b.jsonl --answers --report eval/reports/questions-b
	$(BIN)/paperqa eval --questions eval/paraphrase.jsonl --answers --report eval/reports/paraphrase
	$(BIN)/paperqa eval --questions eval/summaries.jsonl --answers --report eval/reports/summaries

reset: install
	$(BIN)/paperqa reset --yes

clean:
	rm -rf $(VENV) artifacts .pytest_cache .mypy_cache .ruff_cache
