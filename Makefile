# Two entry points for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= $(shell nproc)
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
# llama.cpp is compiled for a portable x86-64 level (AVX2), not for the build machine: a native build
# uses AMX where the CPU reports it, and its prompt evaluation crashed (segmentation fault) on such a
# virtual machine here. pip passes CMAKE_ARGS to llama-cpp-python's source build.
ifeq ($(shell uname -m),x86_64)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
endif
PORT ?= 8501

.PHONY: setup run test test-fast eval bench ingest chromium clean

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ontbreekt ($(PYTHON))."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)
	$(PY) -m assistant prepare

run: setup
	$(PY) -m ingest --if-stale
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

chromium:
	@command -v chromium >/dev/null || { \
	  echo "Chromium installeren (Debian-pakket) voor de browsertests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup chromium
	$(PY) -m pytest -q tests

test-fast: $(STAMP)
	$(PY) -m pytest -q tests -m "not slow and not browser"

ingest: setup
	$(PY) -m ingest

eval: setup
	$(PY) -m evals run --split test

bench: setup
	$(PY) -m evals bench

clean:
	rm -rf .data tests/artifacts
