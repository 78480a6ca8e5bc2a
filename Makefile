# Every target works from a fresh clone: the first one that needs Python builds .venv.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp

.PHONY: setup demo test cover mutate lint bench clean labextension jstest docs screenshots

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The example notebooks' story, with papermill, in a fresh project (demo-output/project: its own
# store and spool, never your runs); a line per notebook, then a summary.
demo: setup
	$(PY) example_notebooks/run_demo.py

lint: setup
	$(VENV)/bin/ruff check nbmlops tests bench example_notebooks docs
	$(VENV)/bin/mypy

# The suite, measured: below the coverage floor of pyproject.toml it fails (as CI does).
test: lint labextension jstest cover

# Line coverage the honest way: kernels, sync processes and CLIs the tests start are measured
# too ([tool.coverage.run] in pyproject.toml); below the floor (fail_under) this fails.
# PYTEST_ARGS narrows it, e.g. `make cover PYTEST_ARGS=tests/test_sync.py` (the floor is for
# the whole suite, so a subset reports without failing). PYTEST_WORKERS=0 runs it in one process.
COVERAGE_FILE  ?= $(CURDIR)/.coverage
PYTEST_ARGS    ?=
PYTEST_WORKERS ?= 2
cover: setup
	rm -f $(COVERAGE_FILE) $(COVERAGE_FILE).*
	COVERAGE_FILE=$(COVERAGE_FILE) $(PY) -m coverage run -m pytest -q -p no:cacheprovider \
	  -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=60 --durations-min=5 \
	  $(PYTEST_ARGS)
	COVERAGE_FILE=$(COVERAGE_FILE) $(PY) -m coverage combine -q
	COVERAGE_FILE=$(COVERAGE_FILE) $(PY) -m coverage report $(if $(PYTEST_ARGS),--fail-under=0)

# Mutation testing (slow, not in CI) of the modules where a silent bug costs most; the
# modules and the tests that guard them are in [tool.mutmut] of pyproject.toml. Survivors
# are listed by `mutmut results`, shown by `mutmut show NAME`. MUTANTS narrows the run to
# names or globs, e.g. `make mutate MUTANTS='nbmlops.jobs.spec.*'` (the tests of the
# selection still run once to learn which test reaches which function).
# A mutant can turn a loop into one that fills memory: each stays under 6 GB.
MUTANTS ?=
mutate:
	$(VENV)/bin/pip install --quiet -e '.[mutate]'
	ulimit -v 6000000; $(VENV)/bin/mutmut run --max-children 2 $(MUTANTS)
	$(VENV)/bin/mutmut results

# The JupyterLab sidebar. `pip install` builds it once (hatch-jupyter-builder); this rebuilds
# it when its sources change, and points the venv's JupyterLab at the build in the tree.
LABEXT     = nbmlops/labextension/package.json
LABEXT_SRC = $(wildcard labextension/src/*) $(wildcard labextension/src/generated/*) \
             $(wildcard labextension/style/*) nbmlops/server/answers.py \
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

# The manual (mkdocs.yml), in strict mode: a broken link or anchor, or a page left out of the
# nav, fails the build. The reference pages are generated from the code (docs/gen/); the
# example notebooks are rendered from EXECUTED_EXAMPLES, where their CI step leaves executed
# copies, else as they are in example_notebooks/. The site is written to build/site/.
DOCS_STAMP        = $(VENV)/.docs-stamp
EXECUTED_EXAMPLES ?= $(CURDIR)/build/examples
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 NBMLOPS_EXECUTED_EXAMPLES=$(EXECUTED_EXAMPLES) \
	  $(VENV)/bin/mkdocs build --strict

# The manual's pictures, re-made from the real runs that show them: the sidebar, Jobs and
# Monitor views from the browser tests (which write docs/screenshots/), the compare panel and
# the status line from docs/make_screenshots.py and docs/make_track_screenshot.py.
screenshots: $(DOCS_STAMP) labextension
	rm -rf docs/screenshots
	$(PY) -m pytest -q -p no:cacheprovider -n 0 tests/sidebar_browser/test_sidebar.py \
	  -k 'shows_runs_details_and_diff or jobs_view_runs_a_job or monitor_view_shows'
	cp docs/screenshots/run-details.png docs/sidebar.png
	cp docs/screenshots/jobs.png docs/screenshots/monitor.png docs/
	$(PY) docs/make_screenshots.py && $(PY) docs/make_track_screenshot.py

# Every bench/*.py script (helpers start with an underscore), one after the other.
# The monitoring bench measures Evidently's DataDriftPreset on the same data, in a virtual
# environment of its own (its pins clash with the product's, and 0.7 needs a pandas before 3);
# without a registry it is skipped.
EVIDENTLY_VENV ?= build/evidently-venv
EVIDENTLY_STAMP = $(EVIDENTLY_VENV)/.installed-stamp

$(EVIDENTLY_STAMP):
	@$(PYTHON) -m venv $(EVIDENTLY_VENV) && $(EVIDENTLY_VENV)/bin/pip install --quiet \
	  "evidently==0.7.23" "pandas<3" pyarrow && touch $@ \
	  || echo "Evidently could not be installed: the monitoring bench goes without it"

bench: setup $(EVIDENTLY_STAMP)
	@set -e; export EVIDENTLY_PYTHON=$${EVIDENTLY_PYTHON:-$$(test -f $(EVIDENTLY_STAMP) && \
	  echo $(CURDIR)/$(EVIDENTLY_VENV)/bin/python)}; \
	  for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script; done

clean:
	rm -rf $(VENV) demo-output build .cache .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* mutants
