# The two commands a new user needs (see README): `make demo` and `make test`.
# Both create .venv and install everything on a fresh machine; later runs reuse it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-out

.PHONY: demo test lint setup browser gpaw

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned: the CPU build lies on this machine's disk; a looser requirement
# would pull a multi-GB CUDA build. The project's own requirement stays a range; constraints.txt
# pins what the suite last passed with, so a new release upstream cannot turn CI red overnight.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[test,compute,ray]"
	touch $@

setup: $(VENV)/.installed

# Headless Chromium for the browser tests, from Debian (never a browser download). apt is tried
# three times so that a mirror hiccup does not fail the run; if it still fails, the browser
# tests skip (pytest's summary says so), except under CI=true, where they fail instead.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "chromium not installed and no root: browser tests will be skipped"; exit 0; fi; \
	  for try in 1 2 3; do \
	    $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium && exit 0; \
	    sleep 15; \
	  done; \
	  echo "WARNING: apt-get could not install chromium: browser tests will be skipped"; }

# GPAW for `bandprint compute` and its tests, from Debian (it runs in /usr/bin/python3, in its
# own process). Installed like Chromium: apt tried three times; under CI=true a missing GPAW
# fails its tests instead of skipping them.
gpaw:
	@/usr/bin/python3 -c "import gpaw" >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "GPAW not installed and no root: GPAW tests will be skipped"; exit 0; fi; \
	  for try in 1 2 3; do \
	    $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq gpaw gpaw-data >/dev/null && exit 0; \
	    sleep 15; \
	  done; \
	  echo "WARNING: apt-get could not install gpaw: GPAW tests will be skipped"; }

demo: setup
	$(BIN)/bandprint demo $(DEMO_DIR)

test: setup browser gpaw
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
