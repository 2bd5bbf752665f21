# One-command tasks. `make run` brings up Vitrine with demo content,
# `make test` runs every test against real local servers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run stop status test lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,test]'
	touch $@

run: install
	$(BIN)/python -m deploy.local up

stop:
	$(BIN)/python -m deploy.local down

status:
	$(BIN)/python -m deploy.local status

test: install
	$(BIN)/python -m pytest

clean: stop
	rm -rf .vitrine
