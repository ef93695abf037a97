# The two commands: `make run` and `make test`. Both install first (quick when nothing changed).
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
STAMP   := $(VENV)/.installed-stamp

.PHONY: install run test test-slow lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Browser tests drive Debian's Chromium through Playwright (no browser download).
	@[ -x /usr/bin/chromium ] || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: browser tests will be skipped"; }
	@touch $(STAMP)

run: install
	$(BIN)/oms up --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: install lint
	bash scripts/test.sh $(PYTEST_ARGS)

test-slow: install
	bash scripts/test.sh -m slow $(PYTEST_ARGS)

bench: install
	$(BIN)/oms bench --quick

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache build *.egg-info
