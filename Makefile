# Two commands for a fresh machine: `make run` and `make test`.
# Each creates .venv if it is missing and installs the project with the pinned versions.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
RUNS   ?= runs

.PHONY: run demo test test-full lint install clean-venv

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "GKN Studio needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,cluster]"
	@touch $(STAMP)

install: $(STAMP)

# The desktop app (checks for, and installs when root, the X11 libraries Qt needs).
run: $(STAMP)
	@bash scripts/run_app.sh $(BIN)

# The same 1D demo from the command line, no window needed.
demo: $(STAMP)
	@mkdir -p $(RUNS)
	$(BIN)/gkn train gkn --preset 1d --out $(RUNS)/demo-1d.h5 --overwrite
	$(BIN)/gkn sample $(RUNS)/demo-1d.h5 --chains 16 --steps 30 --noise 0.01 --burn-in 5
	$(BIN)/gkn runs show $(RUNS)/demo-1d.h5

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The quick suite on 2 workers (pytest-xdist, one test file per worker at a time, so that a module's
# fixtures, the trained runs the science tests share, are computed once); `make test-full`
# (pytest --full) is the complete suite. Both print the suite's wall time at the end.
TEST_WORKERS ?= 2
test: lint
	@start=$$(date +%s); \
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25; \
	status=$$?; elapsed=$$(( $$(date +%s) - start )); \
	echo "make test: the suite took $$((elapsed / 60)) min $$((elapsed % 60)) s ($(TEST_WORKERS) workers, load $$(cut -d' ' -f1-3 /proc/loadavg))"; \
	exit $$status

test-full: lint
	@start=$$(date +%s); \
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q --full --durations=25; \
	status=$$?; elapsed=$$(( $$(date +%s) - start )); \
	echo "make test-full: the suite took $$((elapsed / 60)) min $$((elapsed % 60)) s"; \
	exit $$status

clean-venv:
	rm -rf $(VENV)
