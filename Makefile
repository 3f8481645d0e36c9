# The two commands of the README: `make figures` and `make test`.
# Both create .venv when it is missing and install what they need first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU wheel of this project's machines; set TORCH= (empty) to keep the torch you have,
# or e.g. TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" for CUDA.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed
# Notebooks run at once by `make figures` (torch's threads divided among them).
JOBS ?= 2

.PHONY: install figures test lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH),$(PY) -m pip install --quiet $(TORCH))
	$(PY) -m pip install --quiet -e ".[hub,test]"
	touch $(STAMP)

install: $(STAMP)

# Every notebook on the default benchmark draw (figures/) and on two more draws, then the
# scorecard of every claim (figures/scorecard.*, and the README's table).
figures: $(STAMP)
	$(PY) -m nbutils scorecard --jobs $(JOBS)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check nbutils tests benchmarks

clean:
	rm -rf build .pytest_cache
