# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test notebooks cassettes worksheet lab-up lab-down clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamps are rebuilt when pyproject.toml changes, so a new pin installs on the next command.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/monlab run

test: install-test
	$(BIN)/python -m pytest

# Re-execute the notebooks in replay mode and store their outputs, which nbval then compares.
notebooks: install-test
	$(BIN)/python scripts/refresh_notebooks.py

cassettes: install
	$(BIN)/python scripts/write_documented_cassettes.py

worksheet: install
	$(BIN)/monlab worksheet

lab-up:
	$(PYTHON) lab/stack.py up

lab-down:
	$(PYTHON) lab/stack.py down

clean:
	rm -rf $(VENV) output/runs output/*.xlsx output/*.html logs/*.log data/*.sqlite*
