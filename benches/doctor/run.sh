#!/usr/bin/env bash
# Wall time of `gpuguard doctor` on this machine, interleaved run by run with its peers so a
# shared machine's load bursts hit all of them alike: process start-up alone (`gpuguard
# --version`), the doctor of a baseline binary (BASELINE=path, e.g. main's build, to see what the
# newer checks cost), and the doctor over a whole distribution tree (--root, the next-boot and
# auto-updates checks with a dpkg database). Prints medians and ratios.
# Usage: bash benches/doctor/run.sh [runs]   (GPUGUARD=path/to/gpuguard, default target/release
#        then target/debug; BASELINE=path/to/other/gpuguard to compare)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-40}
BIN=${GPUGUARD:-}
if [ -z "$BIN" ]; then
  for b in target/release/gpuguard target/debug/gpuguard; do [ -x "$b" ] && BIN=$b && break; done
fi
[ -x "$BIN" ] || { echo "build first: cargo build --release -p gpuguard-cli" >&2; exit 2; }
python3 - "$BIN" "${BASELINE:-}" "$RUNS" <<'PY'
import statistics, subprocess, sys, time
bin_, base, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
fixture = "crates/gpuguard/tests/fixtures/doctor/ubuntu-24.04"
cmds = {
    "gpuguard --version": [bin_, "--version"],
    "gpuguard doctor": [bin_, "doctor", "--format", "json"],
    "gpuguard doctor --root ubuntu-24.04": [bin_, "doctor", "--format", "json", "--root", fixture],
}
if base:
    cmds["baseline doctor"] = [base, "doctor", "--format", "json"]
t = {k: [] for k in cmds}
for _ in range(3):  # warm the page cache
    for c in cmds.values():
        subprocess.run(c, stdout=subprocess.DEVNULL)
for _ in range(runs):
    for k, c in cmds.items():
        a = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL)
        t[k].append(time.perf_counter() - a)
ref = statistics.median(t["gpuguard --version"])
print(f"{bin_}, {runs} interleaved rounds")
print(f"  {'command':40} {'median ms':>9} {'min ms':>7} {'x --version':>11}")
for k, v in t.items():
    m = statistics.median(v)
    print(f"  {k:40} {1000*m:9.1f} {1000*min(v):7.1f} {m/ref:11.2f}")
d = statistics.median(t["gpuguard doctor"]) * 1000
print(f"gpuguard doctor on this machine: median {d:.1f} ms (target well under 50 ms): {'OK' if d < 50 else 'OVER'}")
if base:
    print(f"this doctor / baseline doctor: {statistics.median(t['gpuguard doctor'])/statistics.median(t['baseline doctor']):.2f}x")
PY
