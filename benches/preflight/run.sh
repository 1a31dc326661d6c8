#!/usr/bin/env bash
# Wall time `gpuguard.preflight()` adds to a Python start-up, beside the peer diagnostic
# `python -m torch.utils.collect_env`. Needs hyperfine (apt-get install hyperfine) and gpuguard
# installed in $PYTHON's environment; torch is optional (its row is left out without it).
# Usage: bash benches/preflight/run.sh [runs]     (PYTHON=/path/to/python to choose the interpreter)
set -euo pipefail
PY=${PYTHON:-python3}
RUNS=${1:-30}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# 1. hyperfine, one command after the other (medians: a shared machine's bursts drag the mean).
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/py.json" \
  "$PY -c pass" "$PY -c 'import gpuguard'" "$PY -c 'import gpuguard; gpuguard.preflight()'" >/dev/null 2>&1
if "$PY" -c 'import torch' 2>/dev/null; then
  # Seconds per run: a few runs are enough for the reference row.
  hyperfine -N --warmup 1 --runs 3 --export-json "$OUT/peer.json" "$PY -m torch.utils.collect_env" >/dev/null 2>&1
fi

"$PY" - "$OUT" "$RUNS" <<'PY'
import json, os, statistics, subprocess, sys, time
out, runs = sys.argv[1], int(sys.argv[2])
res = json.load(open(os.path.join(out, "py.json")))["results"]
peer = os.path.join(out, "peer.json")
if os.path.exists(peer):
    res += json.load(open(peer))["results"]
base = res[0]
print("hyperfine (sequential):")
print(f"  {'command':56} {'median ms':>9} {'min ms':>7} {'+ vs pass':>10} {'x pass':>7}")
for r in res:
    d = (r["median"] - base["median"]) * 1000
    print(f"  {r['command'][-56:]:56} {r['median']*1000:9.1f} {r['min']*1000:7.1f} {d:+10.1f} {r['median']/base['median']:7.2f}")

# 2. The same three interleaved, run by run, so load bursts hit all of them alike.
py = sys.executable
cmds = {"pass": "pass", "import gpuguard": "import gpuguard", "preflight()": "import gpuguard; gpuguard.preflight()"}
t = {k: [] for k in cmds}
for _ in range(runs):
    for k, code in cmds.items():
        a = time.perf_counter()
        subprocess.run([py, "-c", code], check=True)
        t[k].append(time.perf_counter() - a)
med = {k: 1000 * statistics.median(v) for k, v in t.items()}
print(f"interleaved ({runs} rounds), median ms: " + ", ".join(f"{k} {v:.1f}" for k, v in med.items()))
added = med["preflight()"] - med["pass"]
print(f"preflight adds {added:.1f} ms over `python -c pass` (target < 20 ms): {'OK' if added < 20 else 'OVER'}")

# 3. Inside one process, free of interpreter start-up noise.
t0 = time.perf_counter()
import gpuguard
t1 = time.perf_counter()
inproc = []
for _ in range(50):
    a = time.perf_counter()
    gpuguard.preflight()
    inproc.append(time.perf_counter() - a)
print(f"in process: import gpuguard {1000 * (t1 - t0):.1f} ms; preflight() first {1000 * inproc[0]:.2f} ms, median of 50 {1000 * statistics.median(inproc):.2f} ms")
PY
