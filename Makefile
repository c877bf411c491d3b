# make demo: compress the bundled samples and print the comparison table.
# make test: run the whole test suite.
# Both create .venv on first use and install what they need into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-frontier clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cobol bench samples/

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/cobol bench $(or $(CORPUS),samples/)

# ratio/speed frontier per category against zstd, brotli, xz, bzip3 (docs/FRONTIER.md);
# CORPUS: a directory with json/, jsonl/, xml/, html/, text/ folders
bench-frontier: $(STAMP)
	$(BIN)/python bench/frontier.py $(or $(CORPUS),samples/) $(FRONTIER_FLAGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .hypothesis
