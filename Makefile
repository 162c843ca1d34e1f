# Every target makes .venv (if missing) and installs the project into it first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv test demo lint bench docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m tinygrad_rnn demo

lint: $(STAMP)
	$(PY) -m ruff check tinygrad_rnn tests examples bench

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) bench/run.py

docs: $(STAMP)
	$(PY) docs/build.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build *.egg-info
