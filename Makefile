# One virtualenv at the repository root serves every target: the CLI is .venv/bin/vulcain.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint format install clean console

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/vulcain serve

test: $(STAMP)
	$(BIN)/ruff check vulcain tests benchmarks
	$(BIN)/ruff format --check vulcain tests benchmarks
	$(BIN)/mypy --strict vulcain
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check --fix vulcain tests benchmarks
	$(BIN)/ruff format vulcain tests benchmarks

# The web console's built files (committed, shipped in the package): rebuilt from console/
# with the exact dependency versions of console/package-lock.json.
console:
	cd console && npm ci --no-audit --no-fund && npm run build

clean:
	rm -rf $(VENV) data .pytest_cache
