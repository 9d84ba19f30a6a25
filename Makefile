# The two set-up commands of the README live here: `make demo` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# the native decoder (native/, extra `native`) is built with cargo (rustup's default place if not
# on PATH); uv rebuilds it only when its sources change (cache-keys in native/pyproject.toml)
export PATH := $(PATH):$(HOME)/.cargo/bin
PYTEST_ARGS ?=

.PHONY: demo test install install-dev lint typecheck layers unit check clean native-lint rust-taps

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv

# --compile-bytecode: write .pyc files at install time. Where PYTHONDONTWRITEBYTECODE is set
# (true on these machines) every process would otherwise recompile pyarrow/pyiceberg/sqlalchemy
# sources at start-up: ~2 s of CPU per connector process, in every test and benchmark.
# The editable install leaves our own sources uncompiled: compile them too (~75 ms less start-up
# per connector process).
PACKAGES := dativo_protocol taps/dativo_taps targets/dativo_targets adapters/dativo_adapters

install: $(UV)
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q --compile-bytecode -e '.[all,native]'
	$(BIN)/python -m compileall -q $(PACKAGES)

install-dev: $(UV)
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q --compile-bytecode -e '.[dev]'
	$(BIN)/python -m compileall -q $(PACKAGES)

## demo: install, then run the main job on embedded defaults (local files, SQLite Iceberg catalog)
demo: install
	$(BIN)/dativo run examples/demo/job.yaml
	$(BIN)/python examples/demo/show.py

## test: install, start what the tests need, and run lint, types, layering and the whole suite
test: install-dev
	scripts/system-deps.sh
	$(MAKE) --no-print-directory check

check: lint native-lint rust-taps typecheck layers unit

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# the Rust crate of the native decoder: formatting and clippy (a few seconds once built)
native-lint:
	cargo fmt --manifest-path native/Cargo.toml --check
	cargo clippy -q --manifest-path native/Cargo.toml -- -D warnings

# the Rust Singer taps (rust_taps/, docs/taps/rust.md): formatting, clippy and their unit tests
rust-taps:
	cargo fmt --manifest-path rust_taps/Cargo.toml --all --check
	cargo clippy -q --manifest-path rust_taps/Cargo.toml --all-targets -- -D warnings
	cargo test -q --manifest-path rust_taps/Cargo.toml

typecheck:
	$(BIN)/mypy dativo_protocol taps/dativo_taps targets/dativo_targets adapters/dativo_adapters native/python/dativo_native tests $(wildcard bench/*.py)

layers:
	$(BIN)/lint-imports

unit:
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache rust_taps/target
