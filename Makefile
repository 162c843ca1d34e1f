# Every target makes .venv (if missing) and installs the project into it first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv test demo lint bench docs notebooks results clean

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

# re-run the experiments whose record is missing from docs/results/ (all: ARGS=--force), rebuild results.md
results: $(STAMP)
	$(PY) docs/results.py --run $(ARGS)

# examples/notebooks/*.ipynb from the `# %%` scripts in examples/ (jupytext; checked in, tested)
notebooks: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[notebooks]'
	$(PY) examples/notebooks/build.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build *.egg-info
