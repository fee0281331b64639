# Two commands: `make demo` and `make test`. Both build their own virtual environment from the
# lock file (requirements/lock.txt: every package, exact version and hash, that the suite passed on).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements/lock.txt
BENCH_LOCK := requirements/bench-lock.txt

.PHONY: demo test bench lint clean example lock test-latest

# The locked packages first (hashes checked, nothing resolved), then cowopt itself without
# dependencies, so nothing but the lock decides a version.
$(STAMP): pyproject.toml $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cowopt solve inputs/example.xlsx -o outputs/example

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(BENCH_LOCK)
	$(BIN)/python benchmarks/run.py

example: $(STAMP)
	$(BIN)/python inputs/build_example.py

# The canary: the newest release of every dependency, in its own environment, through the
# whole suite. Not part of `make test`; run it before moving the lock (`make lock`).
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/pip install --quiet --upgrade -e ".[test]"
	.venv-latest/bin/pip freeze --exclude-editable > .venv-latest/versions.txt
	@echo "newest releases under test:"; grep -iE "^(highspy|pyomo|pandas|numpy|openpyxl|xlsxwriter|python-calamine|click|rich|matplotlib|distributed)==" .venv-latest/versions.txt
	.venv-latest/bin/python -m pytest

# Re-resolve the lock: newest releases that pyproject.toml allows, except requirements/pins.txt.
# Then run `make test` (which rebuilds .venv from the new lock) before committing it.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet pip-tools
	.venv-lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	    --extra test -c requirements/pins.txt -o $(LOCK) pyproject.toml
	.venv-lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	    --extra test --extra bench -c requirements/pins.txt -o $(BENCH_LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .venv-latest .venv-lock outputs/example
