#!/usr/bin/env bash
# The whole test suite: Rust (unit, doc and property tests) and Python (pytest against the wheel
# built from this tree, the same file users install). Usage: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test"
cargo test --workspace --locked

# One release build: the abi3 wheel, checked against the manylinux policy its glibc allows
# (maturin's auditwheel check fails the build on a library it does not allow). The tests install
# that wheel, not a second editable build.
echo "== build the wheel"
if command -v maturin >/dev/null 2>&1; then
  maturin=(maturin)
else
  python3 -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2.0'
  maturin=(python3 -m maturin)
fi
rm -rf target/wheels
"${maturin[@]}" build --release --locked --auditwheel check --compatibility "${GPUGUARD_MANYLINUX:-manylinux_2_34}" --out target/wheels

echo "== install the wheel"
wheel=$(ls target/wheels/gpuguard-*.whl)
python3 -m pip install --quiet --disable-pip-version-check "$wheel[test]"
# The same version may be installed from an earlier run: replace it with this build.
python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"

echo "== pytest"
python3 -m pytest tests -q
