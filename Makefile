# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean constraints

$(STAMP): pyproject.toml sandbox/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ./sandbox -e '.[dev]'
	touch $(STAMP)

# The exact versions every install uses (make, CI, the image), refreshed from a working venv.
constraints: $(STAMP)
	$(BIN)/pip install --quiet -e ./sandbox -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^milestone-sync' > constraints.txt

demo: $(STAMP)
	$(BIN)/milestones demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench $(NAME)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
