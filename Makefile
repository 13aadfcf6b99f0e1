# Two commands: `make demo` and `make test`. Both set up .venv first.
#
# torch: an importable torch (in .venv, or system-wide, which the venv sees) is kept;
# otherwise a machine with an NVIDIA GPU gets pip's default build and one without gets
# the CPU build (torch==2.13.0, which installs from a local file here).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_CPU ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench docs clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -c "import torch" 2>/dev/null || { \
	  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	    $(PY) -m pip install torch; else $(PY) -m pip install $(TORCH_CPU); fi; }
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

test: setup
	$(VENV)/bin/lint-imports --no-cache setup.cfg
	$(PY) -m pytest -q

demo: setup
	$(VENV)/bin/graphqd demo --out demo_output

docs: setup
	$(VENV)/bin/mkdocs build --strict

bench: setup
	$(VENV)/bin/graphqd bench holstein --out bench_holstein.json

clean:
	rm -rf $(VENV) demo_output site .pytest_cache
