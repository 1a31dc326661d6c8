#!/usr/bin/env python3
"""Lints one generated corpus of Kubernetes manifests with gpuguard and with Checkov; prints the
ratio and documents per second. Not part of CI (Checkov is large and slow to install).

    python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov
    cargo build --release -p gpuguard-cli
    python3 benches/lint/bench_vs_checkov.py --docs 10000 --checkov /tmp/checkov-venv/bin/checkov

gpuguard is pinned to one core (taskset) when available, since the target is "10,000 documents a
second on one core". Checkov runs as it likes. Both lint the same directory; each is timed on
wall-clock, best of --repeat runs for gpuguard (Checkov once: it takes minutes).
"""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates" / "gpuguard" / "tests" / "fixtures" / "lint"

# Documents typical of a GPU cluster's manifests, beyond the rule fixtures: a plain web
# Deployment, a Service, a vLLM server done right.
EXTRA = [
    """apiVersion: apps/v1
kind: Deployment
metadata: {name: web-NAME, namespace: apps, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 500m, memory: 256Mi}}
        readinessProbe: {httpGet: {path: /, port: 80}}
""",
    """apiVersion: v1
kind: Service
metadata: {name: svc-NAME}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
""",
    """apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm-NAME, namespace: inference}
spec:
  template:
    spec:
      volumes:
      - {name: dshm, emptyDir: {medium: Memory, sizeLimit: 16Gi}}
      - {name: cache, persistentVolumeClaim: {claimName: hf-cache}}
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.6.3
        args: [--model, meta-llama/Llama-3.1-8B-Instruct, --tensor-parallel-size, "2"]
        resources: {limits: {nvidia.com/gpu: 2, memory: 96Gi}}
        volumeMounts: [{name: dshm, mountPath: /dev/shm}, {name: cache, mountPath: /root/.cache/huggingface}]
        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 60}
        livenessProbe: {httpGet: {path: /health, port: 8000}}
""",
]


def templates():
    docs = []
    for f in sorted((FIXTURES / "flagged").glob("*.yaml")) + sorted((FIXTURES / "traps").glob("*.yaml")):
        for d in f.read_text().split("\n---\n"):
            if "kind:" in d:
                docs.append(d.strip() + "\n")
    docs += EXTRA
    return docs


def generate(out: pathlib.Path, n_docs: int, per_file: int) -> int:
    """Writes n_docs documents, per_file to a file, each with a unique name."""
    tpl = templates()
    written = 0
    file_no = 0
    while written < n_docs:
        chunk = []
        for _ in range(min(per_file, n_docs - written)):
            t = tpl[written % len(tpl)]
            uniq = f"n{written}"
            t = t.replace("NAME", uniq).replace("metadata: {name: ", f"metadata: {{name: {uniq}-", 1)
            chunk.append(t)
            written += 1
        (out / f"manifests-{file_no:05d}.yaml").write_text("---\n".join(chunk))
        file_no += 1
    return written


def timed(cmd, ok_codes):
    start = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode not in ok_codes:
        sys.exit(f"{cmd[0]} exited {r.returncode}: {r.stderr[-2000:]}")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10_000, help="documents in the corpus (default 10000)")
    ap.add_argument("--per-file", type=int, default=100, help="documents per file (default 100)")
    ap.add_argument("--gpuguard", default=str(ROOT / "target" / "release" / "gpuguard"))
    ap.add_argument("--checkov", default=shutil.which("checkov") or "/tmp/checkov-venv/bin/checkov")
    ap.add_argument("--repeat", type=int, default=3, help="gpuguard runs; the best counts")
    ap.add_argument("--skip-checkov", action="store_true", help="time gpuguard only")
    ap.add_argument("--keep", help="write the corpus here and keep it")
    a = ap.parse_args()

    if not os.access(a.gpuguard, os.X_OK):
        sys.exit(f"no gpuguard binary at {a.gpuguard}: cargo build --release -p gpuguard-cli")
    tmp = None
    if a.keep:
        corpus = pathlib.Path(a.keep)
        corpus.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="gpuguard-lint-bench-")
        corpus = pathlib.Path(tmp.name)
    n = generate(corpus, a.docs, a.per_file)
    print(f"corpus: {n} documents in {len(list(corpus.glob('*.yaml')))} files ({corpus})")

    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    gg_cmd = pin + [a.gpuguard, "lint", "--format", "json", "--fail-on", "never", str(corpus)]
    gg = min(timed(gg_cmd, {0}) for _ in range(a.repeat))
    print(f"gpuguard: {gg:.3f} s, {n / gg:,.0f} documents/s{' (one core)' if pin else ''}")

    if a.skip_checkov:
        return
    if not os.access(a.checkov, os.X_OK):
        sys.exit(f"no checkov at {a.checkov}: python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov")
    ck = timed([a.checkov, "-d", str(corpus), "--framework", "kubernetes", "--quiet", "--compact"], {0, 1})
    print(f"checkov:  {ck:.3f} s, {n / ck:,.0f} documents/s")
    print(f"ratio: gpuguard is {ck / gg:,.0f}x faster than Checkov")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
