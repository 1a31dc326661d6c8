"""How fast the agent counts a burst (a measurement, not a test; kept out of CI).

Appends N XID lines (every line an event, four GPUs, three codes) to a log the installed
`gpuguard agent` follows, in one write, and times until /metrics has counted them all; prints the
rate and the agent's resident memory. Usage: python benches/agent/burst.py [N=1000000]
"""

import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from test_agent import xid_line  # noqa: E402  (the same lines the load test writes)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    text = "".join(xid_line(i, (48, 13, 79)[i % 3], bus=("3b", "5e", "86", "af")[i % 4]) for i in range(n))
    with tempfile.TemporaryDirectory() as d:
        log, err = Path(d) / "kern.log", Path(d) / "agent.err"
        log.write_text("")
        with open(err, "w") as e:
            agent = subprocess.Popen(
                [shutil.which("gpuguard"), "agent", "--listen", "127.0.0.1:0", "--kernel-log", str(log), "--doctor-interval", "0", "--nvml-interval", "3600"],
                stderr=e,
            )
        try:
            while not (m := re.search(r"http://([\d.:]+)/", err.read_text())):
                time.sleep(0.05)
            url = f"http://{m.group(1)}/metrics"

            def counted():
                page = urllib.request.urlopen(url, timeout=10).read().decode()
                m = re.search(r"^gpuguard_xid_scanned_lines_total (\d+)", page, re.M)
                return int(m.group(1)) if m else 0

            t0 = time.monotonic()
            with open(log, "a") as f:
                f.write(text)
            while counted() < n:
                time.sleep(0.01)
            took = time.monotonic() - t0
            rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{agent.pid}/status").read_text()).group(1))
            print(f"{len(text) / 2**20:.0f} MiB, {n:,} XID lines counted in {took:.2f} s = {n / took:,.0f} lines/s; agent RSS {rss / 1024:.1f} MiB")
        finally:
            agent.terminate()
            agent.wait()


if __name__ == "__main__":
    main()
