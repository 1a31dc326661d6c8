#!/usr/bin/env bash
# Fuzz smoke for CI: every seed plus a few thousand new inputs per target, on the stable
# toolchain. Stable Rust cannot build AddressSanitizer (a nightly -Z flag), so this runs
# libFuzzer with `-s none`: panics, overflow checks and hangs are still caught, and the code on
# these paths is safe Rust. The long runs in README.md use nightly and ASan.
# Usage: bash crates/gpuguard/fuzz/smoke.sh [RUNS=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20000}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --quiet --locked cargo-fuzz
target_dir=${CARGO_TARGET_DIR:-$PWD/fuzz/target}/fuzz-smoke
for t in parse_xid_line scan_bytes scan_gzip journal_json nvidia_smi_q lint_manifest; do
  corpus=$(mktemp -d)
  runs=$RUNS
  # scan_bytes feeds megabyte inputs (~150 a second): a tenth of the runs keeps it near 20 s.
  [ "$t" = scan_bytes ] && runs=$((RUNS / 10))
  echo "== fuzz smoke: $t ($runs runs after the seeds)"
  log=$(mktemp)
  status=0
  cargo fuzz run --sanitizer none --target-dir "$target_dir" "$t" "$corpus" "fuzz/seeds/$t" -- \
    -runs="$runs" -max_len=2000000 -timeout=20 >"$log" 2>&1 || status=$?
  # libFuzzer's chatter stays in the log unless the run failed.
  grep -E '^(Done|INFO: seed corpus)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz smoke: $t failed (exit $status; a crash is saved under crates/gpuguard/fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  rm -f "$log"
  rm -rf "$corpus"
done
