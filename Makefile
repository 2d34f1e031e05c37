# Every target creates .venv and installs what it needs by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BASE := $(VENV)/.installed-base

.PHONY: install demo test lint bench clean slurm-up slurm-down

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# What the demo needs: yanex with its web UI extra, nothing for tests or linting.
$(BASE): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[ui]'
	touch $(BASE)

# Everything else: test, lint and optional-format dependencies, and torch.
$(STAMP): $(BASE)
	$(BIN)/python -m pip install -q -e '.[dev]'
	-$(BIN)/python -m pip install -q torch==2.13.0 || echo "torch 2.13.0 not installable here: torch artifact tests will skip"
	touch $(STAMP)

install: $(STAMP)

demo: $(BASE)
	$(BIN)/python examples/demo.py

# The whole suite once, on the default launch path (exec); its differential suite
# (tests/launch/differential) runs every script under both paths. Then the launch tests
# (tests/launch) under the pool path, and under the portable fallbacks of
# yanex/_platform.py (what macOS takes). See README, "Tests".
# Workers: 3 was the fastest of 2, 3 and 4 on the 2-core test machine (README, "Tests").
TEST_WORKERS ?= 3
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup
test: install
	YANEX_LAUNCH_PATH=exec $(PYTEST)
	YANEX_LAUNCH_PATH=pool $(PYTEST) tests/launch --ignore tests/launch/differential
	YANEX_PLATFORM=portable $(PYTEST) tests/launch

lint: install
	$(BIN)/ruff check yanex tests bench examples
	$(BIN)/ruff format --check yanex
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_layers.py  # the layer map

bench: install
	$(BIN)/python bench/run_all.py

# A single-node Slurm with accounting on this machine, for the Slurm launcher's tests (as
# root, no systemd; see tools/slurm/up.sh). Without it those tests skip.
slurm-up:
	tools/slurm/up.sh

slurm-down:
	tools/slurm/down.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
