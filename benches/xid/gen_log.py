#!/usr/bin/env python3
"""Writes a realistic kernel log of at least SIZE bytes (default 1 GiB) to PATH: syslog-style
noise (network, systemd, audit, NVRM banners, "Xid" in unrelated text) with one XID event in
about every 2,000 lines, in the formats users see. Usage: gen_log.py PATH [SIZE_BYTES]"""

import random
import sys

NOISE = [
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] eth0: Link is Up - 25Gbps/Full - flow control rx/tx",
    "Jan {d:2d} {t} node-{h} systemd[1]: Started Session {n} of user slurm.",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] audit: type=1400 audit({n}.123:{n}): apparmor=\"ALLOWED\" operation=\"open\" profile=\"xid-exporter\"",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] NVRM: GPU at PCI:0000:3b:00: GPU-3f1e2a4c-11aa-4bc1-9d32-0a1b2c3d4e5f",
    "Jan {d:2d} {t} node-{h} xid-watch[{n}]: no new Xid events in the last 60s",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] nvidia-nvlink: Nvlink Core is being initialized, major device number 234",
    "Jan {d:2d} {t} node-{h} containerd[{n}]: time=\"2024-01-01T00:00:00Z\" level=info msg=\"shim disconnected\" id={n:x}",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.104.05",
]
XIDS = [
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] NVRM: Xid (PCI:0000:{bus}:00): 13, pid={n}, name=python, Graphics SM Warp Exception on (GPC 1, TPC 0, SM 1): Out Of Range Address",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] NVRM: Xid (PCI:0000:{bus}:00): 31, pid='<unknown>', name=<unknown>, Ch 00000008, intr 10000000",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] NVRM: Xid (PCI:0000:{bus}:00): 48, pid={n}, name=python, An uncorrectable double bit error (DBE) has been detected",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] NVRM: Xid (PCI:0000:{bus}:00): 45, pid={n}, name=python, Ch 00000010",
    "Jan {d:2d} {t} node-{h} kernel: [{up:12.6f}] NVRM: Xid (PCI:0000:{bus}:00): 79, pid={n}, name=nvidia-smi, GPU has fallen off the bus.",
]


def main() -> None:
    path = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 30
    rng = random.Random(42)
    buses = ["18", "3b", "5e", "86", "af", "d8"]
    # Build a 4 MiB block once (formatting in Python is the slow part), then repeat it.
    lines, xid_lines, up = [], 0, 100.0
    while sum(len(x) for x in lines) < 4 << 20:
        up += rng.random()
        ctx = dict(d=rng.randint(1, 28), t=f"{rng.randint(0,23):02d}:{rng.randint(0,59):02d}:{rng.randint(0,59):02d}",
                   h=rng.randint(1, 64), up=up, n=rng.randint(1, 99999), bus=rng.choice(buses))
        if rng.randrange(2000) == 0:
            lines.append(rng.choice(XIDS).format(**ctx) + "\n")
            xid_lines += 1
        else:
            lines.append(rng.choice(NOISE).format(**ctx) + "\n")
    block = "".join(lines).encode()
    copies = -(-size // len(block))
    with open(path, "wb") as f:
        for _ in range(copies):
            f.write(block)
    print(f"{path}: {copies * len(block)} bytes, {copies * len(lines)} lines, {copies * xid_lines} XID lines")


if __name__ == "__main__":
    main()
