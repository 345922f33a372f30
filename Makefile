# gridwatch — the two commands of the README:
#   make run    set up, prepare the Xicheng sample and open the Streamlit map
#   make test   set up and run the whole test suite
# Both are idempotent: the virtual environment is reused while pyproject.toml is unchanged.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501

.PHONY: setup run test sample-data browser bench bench-quick lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,scale]"
	touch $(STAMP)

setup: $(STAMP)

sample-data: setup
	$(VENV)/bin/gridwatch setup-sample

# Debian's Chromium for the end-to-end browser test (nothing downloads its own browser here).
browser:
	@command -v /usr/bin/chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) || \
	  { echo "could not install chromium: run as root or install the 'chromium' package"; exit 1; }; }

# The app asks for a login: the first run creates the sample's admin and prints its password once.
run: sample-data
	$(VENV)/bin/gridwatch users bootstrap --demo
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address 127.0.0.1 --server.headless true

test: setup browser sample-data
	$(PY) -m ruff check geo tests app.py app_pages benchmarks
	$(PY) -m pytest -q

# The whole suite (~60 min: 2e7 synthetic events are generated once into /tmp/gridwatch-bench and ingested three
# ways: one process, a 2-worker LocalCluster, a `dask scheduler` + `dask worker` cluster);
# bench-quick is the same table at small sizes (~4 min).
bench: setup
	$(PY) benchmarks/run_all.py

bench-quick: setup
	$(PY) benchmarks/run_all.py --quick --readme

lint: setup
	$(PY) -m ruff check geo tests app.py app_pages benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
