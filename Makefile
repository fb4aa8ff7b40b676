# The two commands: `make demo` and `make test`. Each sets up everything it needs from nothing:
# a virtual environment in .venv, torch (CPU build), tympan with its dev tools, and the example plugin.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned: an unpinned torch pulls the CUDA build (several GB) where a local CPU wheel serves 2.13.0.
TORCH_SPEC ?= torch==2.13.0
# torchaudio is a reference for the parity tests (its models, functional and compliance.kaldi are plain Python).
# Its compiled library is built against another torch, so it is removed; torchaudio then runs without it.
TORCHAUDIO_SPEC ?= torchaudio==2.11.0
# pyctcdecode (a parity reference for the CTC beam search) declares numpy < 2 but runs on numpy 2; it is
# installed without its dependencies so that it cannot downgrade numpy.
PYCTCDECODE_SPEC ?= pyctcdecode==0.5.0 pygtrie==2.6.2
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
STAMP := $(VENV)/.installed
SITE_DIR ?= $(or $(TMPDIR),/tmp)/tympan-site
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit docs bench-smoke bench clean

# System tools the parity tests compare against (the sox and ffmpeg/ffprobe binaries); installed with apt-get
# when missing.
SYSTEM_TOOLS := sox ffmpeg
# espeak-ng voices the corpora `tympan data synth` writes (the training recipes' smoke tests run on them).
SYSTEM_TOOLS += espeak-ng

$(STAMP): pyproject.toml contrib/tympan-example-plugin/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "tympan needs Python >= 3.10"'
	@missing=$$(for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || echo $$tool; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PIP) --upgrade pip setuptools wheel
	$(PIP) "$(TORCH_SPEC)"
	$(PIP) -e ".[dev]" -e ./contrib/tympan-example-plugin
	$(PIP) --no-deps "$(TORCHAUDIO_SPEC)"
	rm -f $(VENV)/lib/python*/site-packages/torchaudio/lib/*.so
	$(PIP) --no-deps $(PYCTCDECODE_SPEC)
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tympan validate examples/mfcc.yaml
	$(BIN)/tympan run examples/mfcc.yaml src/tympan/assets/speech.flac -o demo-output
	$(BIN)/python examples/demo.py --outdir demo-output

lint: $(STAMP)
	$(BIN)/ruff check conftest.py src tests benchmarks contrib examples docs
	$(BIN)/ruff format --check conftest.py src tests benchmarks contrib examples docs

typecheck: $(STAMP)
	$(BIN)/mypy

# Doctests run in their own pass with the normal import mode, so that each source module is imported once
# (a second copy of a class cannot be pickled).
unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not gpu" $(PYTEST_ARGS) tests contrib/tympan-example-plugin/tests
	$(BIN)/python -m pytest -n 2 --doctest-modules --import-mode=prepend $(PYTEST_ARGS) \
	  src/tympan contrib/tympan-example-plugin/src

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(SITE_DIR)

bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks --smoke

bench: $(STAMP)
	$(BIN)/python -m benchmarks --json benchmarks/results/latest.json

test: lint typecheck unit docs bench-smoke

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
