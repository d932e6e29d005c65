#!/usr/bin/env bash
# The whole test suite, from a fresh machine: lint, types, tests on the current SDKs, then the instrumentation tests
# again on the older SDK lines (anthropic 0.7x, openai 1.x). Creates its own virtualenvs under .venv*/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

echo "== current SDKs (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"

echo "== older SDK lines (.venv-compat: anthropic 0.79, openai 1.109)"
[ -x .venv-compat/bin/python ] || "$PYTHON" -m venv .venv-compat
.venv-compat/bin/python -m pip install -q --upgrade pip
.venv-compat/bin/python -m pip install -q -e ".[test-compat]" "anthropic==0.79.0" "openai==1.109.1"
.venv-compat/bin/python -m pytest -q tests/instrumentation
