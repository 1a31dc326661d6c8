#!/usr/bin/env bash
# Benchmark (not a test; kept out of CI): gpuguard's full XID parse + classify over a generated
# >= 1 GiB kernel log against `grep -c` and `rg -c` for the marker, and over a 256 MiB gzip log
# against `zgrep -c`, page cache warm, in one run.
# Prints wall times, ratios and peak RSS (/usr/bin/time -v). gpuguard maps a big log only when it
# has not changed for a minute (a live log is read instead, see crates/gpuguard/src/xid/window.rs),
# so the log's mtime is set back before the mapped runs and to now for the read-path run.
# Targets (issue 14): JSON scan <= 1.2x rg and < grep; read path <= 1.3x rg; gzip < zgrep -c;
# peak RSS < 64 MiB.
# Usage: bash benches/xid/run.sh [LOG=/tmp/gpuguard-xid-bench.log] [SIZE_BYTES=1073741824]
set -euo pipefail
cd "$(dirname "$0")/../.."
LOG=${1:-/tmp/gpuguard-xid-bench.log}
SIZE=${2:-1073741824}
BIN=${CARGO_TARGET_DIR:-target}/release/gpuguard
cargo build --release -p gpuguard-cli --locked -q # no-op when up to date; never bench a stale binary
command -v rg >/dev/null || { echo "ripgrep missing: apt-get install ripgrep" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 2; }
[ -f "$LOG" ] && [ "$(stat -c %s "$LOG")" -ge "$SIZE" ] || python3 benches/xid/gen_log.py "$LOG" "$SIZE"
GZ=${LOG%.log}-256m.log.gz
if [ ! -f "$GZ" ]; then
  head -c $((256 << 20)) "$LOG" | gzip -6 > "$GZ"
fi
cat "$LOG" "$GZ" > /dev/null # warm the page cache

# best of 3 wall-clock seconds and max RSS (KiB) of a command
measure() {
  local best="" rss=0
  for _ in 1 2 3; do
    # /usr/bin/time for peak RSS; date for wall time (time -v rounds to 10 ms)
    local t0 t1; t0=$(date +%s%N)
    /usr/bin/time -v -o /tmp/gpuguard-xid-bench.time "$@" > /tmp/gpuguard-xid-bench.out || true
    t1=$(date +%s%N)
    local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    local r; r=$(awk -F': ' '/Maximum resident set size/ {print $2}' /tmp/gpuguard-xid-bench.time)
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
    [ "$r" -gt "$rss" ] && rss=$r
  done
  echo "$best $rss"
}

touch -d '-5 minutes' "$LOG" # old enough to be memory-mapped
read -r g_t g_r < <(measure grep -c 'NVRM: Xid' "$LOG")
read -r r_t r_r < <(measure rg -c 'NVRM: Xid' "$LOG")
read -r j_t j_r < <(measure "$BIN" xid --fail-on never --format json "$LOG")
events=$(python3 -c 'import json,sys; print(len(json.load(open("/tmp/gpuguard-xid-bench.out"))["events"]))')
read -r p_t p_r < <(measure "$BIN" xid --fail-on never --format prometheus "$LOG")
touch "$LOG" # just modified: gpuguard treats it as live and reads it in chunks instead of mapping it
read -r q_t q_r < <(measure "$BIN" xid --fail-on never --format json "$LOG")
touch -d '-5 minutes' "$LOG"
read -r z_t z_r < <(measure zgrep -c 'NVRM: Xid' "$GZ")
read -r y_t y_r < <(measure "$BIN" xid --fail-on never --format json "$GZ")

echo "log: $LOG ($(stat -c %s "$LOG") bytes), $(grep -c 'NVRM: Xid' "$LOG") marker lines, gpuguard events: $events"
printf '%-34s %8s s  %8s MiB\n' "grep -c 'NVRM: Xid'" "$g_t" "$((g_r / 1024))"
printf '%-34s %8s s  %8s MiB\n' "rg -c 'NVRM: Xid'" "$r_t" "$((r_r / 1024))"
printf '%-34s %8s s  %8s MiB\n' "gpuguard xid --format json" "$j_t" "$((j_r / 1024))"
printf '%-34s %8s s  %8s MiB\n' "gpuguard xid --format prometheus" "$p_t" "$((p_r / 1024))"
printf '%-34s %8s s  %8s MiB\n' "gpuguard xid json (read path)" "$q_t" "$((q_r / 1024))"
printf '%-34s %8s s  %8s MiB\n' "zgrep -c (256 MiB gzip)" "$z_t" "$((z_r / 1024))"
printf '%-34s %8s s  %8s MiB\n' "gpuguard xid json (256 MiB gzip)" "$y_t" "$((y_r / 1024))"
peak=$(printf '%s\n' "$j_r" "$p_r" "$q_r" "$y_r" | sort -n | tail -1)
awk -v g="$g_t" -v r="$r_t" -v j="$j_t" -v p="$p_t" -v q="$q_t" -v z="$z_t" -v y="$y_t" -v m="$peak" 'BEGIN {
  printf "ratio gpuguard(json)/grep   = %.2f  (target < 1)\n", j/g
  printf "ratio gpuguard(json)/rg     = %.2f  (target <= 1.2)\n", j/r
  printf "ratio gpuguard(prom)/rg     = %.2f\n", p/r
  printf "ratio read-path(json)/rg    = %.2f  (target <= 1.3)\n", q/r
  printf "ratio gzip(json)/zgrep -c   = %.2f  (target < 1)\n", y/z
  printf "gpuguard peak RSS           = %.1f MiB  (target < 64)\n", m/1024 }'
