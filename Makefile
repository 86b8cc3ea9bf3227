# Living Memory: two commands do all set-up on a fresh machine.
#   make demo   build the example archive (installs everything first)
#   make test   run the whole test suite (installs everything first)
# Re-running is fast: the venv is rebuilt only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.livingmemory-installed
# Users with a network may point pip at PyTorch's CPU index: make TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
PIP := $(BIN)/python -m pip --disable-pip-version-check
# command=debian-package pairs the project needs from the operating system.
RUNTIME_DEPS := ffmpeg=ffmpeg ffprobe=ffmpeg
TEST_DEPS := $(RUNTIME_DEPS) espeak-ng=espeak-ng chromium=chromium chromedriver=chromium-driver

.PHONY: demo test test-fast lint setup system-deps test-system-deps examples clean

demo: system-deps $(STAMP)
	$(BIN)/livingmemory demo

# The suite runs on every core (pytest-xdist, work stealing: a worker that finishes early
# takes tests from the other). One worker more than cores gave the same within noise
# (16.1 against 16.6 minutes from a fresh clone, tests 13.3 against 14.1).
PYTEST := $(BIN)/pytest -n auto --dist worksteal

test: test-system-deps $(STAMP) lint
	$(PYTEST)

# Skips tests marked slow (model loading, long audio); CI runs everything with `make test`.
test-fast: test-system-deps $(STAMP)
	$(PYTEST) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check livingmemory tests scripts
	$(BIN)/ruff format --check livingmemory tests scripts
	$(BIN)/mypy livingmemory

setup: test-system-deps $(STAMP)

system-deps:
	@scripts/ensure-system-deps.sh $(RUNTIME_DEPS)

test-system-deps:
	@scripts/ensure-system-deps.sh $(TEST_DEPS)

# torch goes in first, pinned to the CPU build, so nothing later pulls a CUDA build.
# Byte code (the environment's and the package's) is compiled once, on every core (pip
# compiles on one: 73 s here, against 26 s).
# It must exist: where PYTHONDONTWRITEBYTECODE is set (CI, containers) Python never writes
# it, and every process then compiled torch and spaCy again (7.6 s to start the site, 3.3 s
# with byte code). A few files of other Python versions in some packages do not compile;
# they are never imported, so compileall's complaint about them is not an error here (the
# package's own must compile).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --no-compile -c constraints.txt torch==2.13.0 $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(PIP) install -q --no-compile -c constraints.txt -e ".[all,dev]"
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null 2>&1 || true
	@$(BIN)/python -m compileall -q -j 0 livingmemory
	@touch $(STAMP)

# Regenerate the synthetic example interviews (needs espeak-ng).
examples: test-system-deps $(STAMP)
	$(BIN)/python scripts/make_examples.py

clean:
	rm -rf demo .pytest_cache .ruff_cache .mypy_cache
