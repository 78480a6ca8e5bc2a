# Every target works from a fresh clone: the first one that needs Python builds .venv.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench clean labextension jstest

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(PY) example_notebooks/run_demo.py

lint: setup
	$(VENV)/bin/ruff check nbmlops tests bench example_notebooks
	$(VENV)/bin/mypy

test: lint labextension jstest
	$(PY) -m pytest -q -p no:cacheprovider

# The JupyterLab sidebar. `pip install` builds it once (hatch-jupyter-builder); this rebuilds
# it when its sources change, and points the venv's JupyterLab at the build in the tree.
LABEXT     = nbmlops/labextension/package.json
LABEXT_SRC = $(wildcard labextension/src/*) $(wildcard labextension/style/*) \
             labextension/schema/plugin.json labextension/package.json labextension/yarn.lock
LABEXT_DIR = $(VENV)/share/jupyter/labextensions/nbmlops

labextension: $(LABEXT)
	@if [ ! -L $(LABEXT_DIR) ]; then rm -rf $(LABEXT_DIR); mkdir -p $(dir $(LABEXT_DIR)); \
	  ln -s $(CURDIR)/nbmlops/labextension $(LABEXT_DIR); fi

$(LABEXT): $(STAMP) $(LABEXT_SRC)
	cd labextension && ../$(VENV)/bin/jlpm install && ../$(VENV)/bin/jlpm build:prod
	touch $@

jstest: labextension
	cd labextension && ../$(VENV)/bin/jlpm test

# Every bench/*.py script (helpers start with an underscore), one after the other.
bench: setup
	@set -e; for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script; done

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
