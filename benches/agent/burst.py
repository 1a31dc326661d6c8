"""How the agent holds up under a node's load (a measurement, not a test; kept out of CI).

One run, one agent on 127.0.0.1:
  1. scrape latency of /metrics (p50, p99 over 200 scrapes) with no other client, then for 20 s
     with 64 slowloris connections held open (each sends one byte of a request head every 2 s
     and reconnects when the agent cuts it at its deadline), and the ratio of the two;
  2. a burst of N XID lines (four GPUs, three codes) appended in one write: time until /metrics
     has counted them all, lines per second;
  3. the agent's resident memory before and after, against the DaemonSet's 64 MiB limit.

Usage: python3 benches/agent/burst.py [N=1000000] [--gpuguard PATH]
The agent binary is PATH, else target/release/gpuguard when it was built (cargo build --release
-p gpuguard-cli), else the `gpuguard` on PATH. Everything stops by itself within a minute or so.
"""

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from test_agent import xid_line  # noqa: E402  (the same lines the load test writes)

SLOW = 64
LIMIT_BYTES = 64 << 20  # the DaemonSet's memory limit


def rss(pid):
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) * 1024


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def scrape_latencies(url, n=200, seconds=None, pause=0.0):
    """Latencies of `n` scrapes, or of scrapes for `seconds` with `pause` between them."""
    out, start = [], time.monotonic()
    while (len(out) < n) if seconds is None else (time.monotonic() - start < seconds):
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
        out.append(time.perf_counter() - t)
        time.sleep(pause)
    return out


def slowloris(host, port, stop, counts):
    """64 connections dribbling a request head, one byte every 2 s each; bounded by `stop`."""
    head = b"GET /metrics HTTP/1.1\r\nHost: node\r\nX-Slow: " + b"a" * 200

    def connect():
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        return [s, 0]

    conns = [connect() for _ in range(SLOW)]
    counts["open"] = len(conns)
    while not stop.wait(2.0):
        for c in conns:
            try:
                if c[0].recv(512) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                pass
            except OSError:
                counts["cut"] += 1
                c[0].close()
                c[:] = connect()
                continue
            try:
                c[0].send(head[c[1] % len(head):][:1])
                c[1] += 1
            except OSError:
                counts["cut"] += 1
                c[0].close()
                c[:] = connect()
    for c in conns:
        c[0].close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--gpuguard")
    args = ap.parse_args()
    release = ROOT / "target" / "release" / "gpuguard"
    exe = args.gpuguard or (str(release) if release.exists() else shutil.which("gpuguard"))
    assert exe, "no gpuguard binary: cargo build --release -p gpuguard-cli, or pip install ."
    n = args.n
    text = "".join(xid_line(i, (48, 13, 79)[i % 3], bus=("3b", "5e", "86", "af")[i % 4]) for i in range(n))
    with tempfile.TemporaryDirectory() as d:
        log, err = Path(d) / "kern.log", Path(d) / "agent.err"
        log.write_text("")
        with open(err, "w") as e:
            agent = subprocess.Popen(
                [exe, "agent", "--listen", "127.0.0.1:0", "--kernel-log", str(log), "--doctor-interval", "0", "--nvml-interval", "3600"],
                stderr=e,
            )
        try:
            while not (m := re.search(r"http://([\d.]+):(\d+)/", err.read_text())):
                assert agent.poll() is None, err.read_text()
                time.sleep(0.05)
            host, port = m.group(1), int(m.group(2))
            url = f"http://{host}:{port}/metrics"
            rss_start = rss(agent.pid)

            quiet = scrape_latencies(url)
            stop, counts = threading.Event(), {"cut": 0, "open": 0}
            attacker = threading.Thread(target=slowloris, args=(host, port, stop, counts))
            attacker.start()
            time.sleep(1.0)
            try:
                # Longer than the agent's deadlines (5 s for a request head, 15 s a connection), so
                # the slow clients are cut and come back while this measures.
                loaded = scrape_latencies(url, seconds=20, pause=0.04)
                health = scrape_latencies(url.replace("/metrics", "/healthz"), 200)
            finally:
                stop.set()
                attacker.join(timeout=30)

            def counted():
                page = urllib.request.urlopen(url, timeout=10).read().decode()
                m = re.search(r"^gpuguard_xid_scanned_lines_total (\d+)", page, re.M)
                return int(m.group(1)) if m else 0

            rss_before = rss(agent.pid)
            t0 = time.monotonic()
            with open(log, "a") as f:
                f.write(text)
            while counted() < n:
                time.sleep(0.01)
            took = time.monotonic() - t0
            rss_after = rss(agent.pid)
        finally:
            agent.terminate()
            agent.wait()

    ms = lambda v: f"{v * 1000:.2f} ms"  # noqa: E731
    print(f"agent: {exe}")
    print(f"scrape /metrics, no other client:        p50 {ms(percentile(quiet, 50))}, p99 {ms(percentile(quiet, 99))}")
    print(f"scrape /metrics, {SLOW} slowloris clients:   p50 {ms(percentile(loaded, 50))}, p99 {ms(percentile(loaded, 99))}"
          f"  (ratio p99 {percentile(loaded, 99) / percentile(quiet, 99):.2f}x; {counts['cut']} slow connections cut at their deadline)")
    print(f"/healthz, {SLOW} slowloris clients:          p50 {ms(percentile(health, 50))}, p99 {ms(percentile(health, 99))}")
    print(f"burst: {len(text) / 2**20:.0f} MiB, {n:,} XID lines counted in {took:.2f} s = {n / took:,.0f} lines/s")
    print(f"RSS: {rss_start / 2**20:.1f} MiB at start, {rss_before / 2**20:.1f} MiB before the burst, {rss_after / 2**20:.1f} MiB after "
          f"(DaemonSet limit {LIMIT_BYTES >> 20} MiB: {'under' if rss_after < LIMIT_BYTES else 'OVER'})")


if __name__ == "__main__":
    main()
