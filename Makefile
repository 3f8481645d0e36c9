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
CHROMIUM ?= /usr/bin/chromium
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: install figures tune test lint clean chromium

$(STAMP): pyproject.toml Makefile lab-settings/overrides.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH),$(PY) -m pip install --quiet $(TORCH))
	$(PY) -m pip install --quiet -e ".[hub,ray,test]"
	@# the project's JupyterLab defaults (widget state saved with notebooks), unless set
	test -e $(LAB_OVERRIDES) || { mkdir -p $(dir $(LAB_OVERRIDES)) && \
		cp lab-settings/overrides.json $(LAB_OVERRIDES); }
	@$(MAKE) --no-print-directory chromium
	touch $(STAMP)

# Chromium for tests/test_browser.py (Debian's package; Playwright drives it). Never fails:
# without it the browser test is skipped and says why.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium (apt-get) for tests/test_browser.py"; \
		apt-get install -y chromium >/dev/null 2>&1 || \
		{ apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1; } || \
		echo "note: apt-get could not install chromium; tests/test_browser.py will be skipped"; \
	else \
		echo "note: $(CHROMIUM) is missing (sudo apt-get install -y chromium);" \
			"tests/test_browser.py will be skipped"; \
	fi

install: $(STAMP)

# Every notebook on the default benchmark draw (figures/) and on more draws
# (figures/draws/draw-<seed>/): each notebook on its own (scorecard.DRAW_COUNTS: 0-2, the
# headline notebooks 04 and 06 on 0-10), or every one on DRAWS="0 1 2"; then the
# scorecard of every claim (figures/scorecard.*, and the README's table).
DRAWS ?=
figures: $(STAMP)
	$(PY) -m nbutils scorecard --jobs $(JOBS) $(if $(DRAWS),--seeds $(DRAWS))

# Every notebook's learning rates, tuned on held-out seeds of draw 0 (successive halving)
# into figures/tuned_rates.json, which `make figures` and every draw then read.
tune: $(STAMP)
	$(PY) -m nbutils tune

# Test workers: one per core, at most 4 (each runs notebooks in kernels of its own).
TEST_JOBS ?= auto

test: $(STAMP)
	NBUTILS_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -n $(TEST_JOBS) --maxprocesses 4 --dist loadgroup

lint: $(STAMP)
	$(PY) -m ruff check nbutils tests benchmarks

clean:
	rm -rf build .pytest_cache
