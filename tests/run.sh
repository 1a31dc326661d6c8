#!/usr/bin/env bash
# The whole test suite: Rust (unit, doc and property tests) and Python (pytest against the
# package built from this tree). Usage: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test"
cargo test --workspace --locked

echo "== build and install the Python package"
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"

echo "== pytest"
python3 -m pytest tests -q
