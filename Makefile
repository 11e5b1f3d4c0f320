# Setup and entry points; see README.md. `make mnist` and `make test` set up .venv first.
#   make venv                   create .venv (Python 3.11) with the pinned versions
#   make mnist ARGS="--quick"   train the default MNIST 0-vs-1 model (python -m train.mnist)
#   make test ARGS="-k neuron"  run the tests (pytest)

PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: venv mnist test

venv: $(STAMP)

# Reinstalls only when the dependency files change; `rm -rf .venv` starts over.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || \
		{ echo "make venv: needs Python 3.11; '$(PYTHON)' is not. Run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -c requirements.lock -e '.[dev]'
	touch $@

mnist: venv
	$(VENV)/bin/python -m train.mnist $(ARGS)

# pytest exits 5 when it collected no test: here that means something is broken, so fail.
test: venv
	@$(VENV)/bin/python -m pytest $(ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "make test: pytest collected no tests (exit 5); expected tests under tests/." >&2; exit 1; \
	fi; exit $$status
