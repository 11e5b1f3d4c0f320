# Setup and entry points; see README.md. `make mnist` and `make test` set up .venv first.
#   make venv                   create .venv (Python 3.11) with the pinned versions
#   make mnist ARGS="--quick"   train the default MNIST 0-vs-1 model (python -m train.mnist)
#   make test ARGS="-k neuron"  run the tests (pytest)
#   make native                 build the fused C++ op (qrnn_tfq/native); mnist and test build it first

PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: venv native mnist test

venv: $(STAMP)

# Reinstalls only when the dependency files change; `rm -rf .venv` starts over.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || \
		{ echo "make venv: needs Python 3.11; '$(PYTHON)' is not. Run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -c requirements.lock -e '.[dev]'
	touch $@

# The native op, from the pinned TensorFlow's headers (qrnn_tfq/native/build.py). A failed
# build is not fatal: the programs then run on the XLA engine and say so, in one line.
NATIVE := qrnn_tfq/native/_qrnn_ops.so
$(NATIVE): $(STAMP) $(wildcard qrnn_tfq/native/kernels/*.cc qrnn_tfq/native/kernels/*.h) qrnn_tfq/native/build.py
	@$(VENV)/bin/python -m qrnn_tfq.native.build 2>&1 | grep -v -E "^(WARNING|I0000|E0000|W0000)|tensorflow/|cuda|oneDNN|AVX|rebuild TensorFlow" || true

native: $(NATIVE)

mnist: venv native
	$(VENV)/bin/python -m train.mnist $(ARGS)

# pytest exits 5 when it collected no test: here that means something is broken, so fail.
test: venv native
	@$(VENV)/bin/python -m pytest $(ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "make test: pytest collected no tests (exit 5); expected tests under tests/." >&2; exit 1; \
	fi; exit $$status
