#!/usr/bin/env python3
"""gpuguard lint against its peer, side by side in one run, and its scaling.

Three measurements, printed with their ratios:

1. Throughput: 100 copies of a realistic corpus (every lint fixture of the repository: the
   flagged and trap manifests per rule and per workload kind, the field cases, the live-cluster
   List, plus ordinary web/Service documents), linted by gpuguard pinned to one core
   (taskset -c 0) and by Checkov (`--framework kubernetes`) on the same directory. Documents per
   second and the ratio.
2. List scaling: a `kubectl get pods -A -o json`-shaped List of 100 pods and one of 4,000 pods;
   the time ratio (linear work means about 40x) and gpuguard's peak memory (max RSS) against the
   input size.
3. Peak memory of the throughput run.

    cargo build --release -p gpuguard-cli
    python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov   # optional
    python3 benches/lint/bench_lint.py [--checkov /tmp/checkov-venv/bin/checkov] [--copies 100]

Times are wall-clock, best of --repeat runs for gpuguard (Checkov once: it takes minutes).
Not part of CI: a benchmark, not a test.
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates" / "gpuguard" / "tests" / "fixtures" / "lint"

# Ordinary documents of a GPU cluster's repository, beyond the rule fixtures.
EXTRA = [
    """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, labels: {app: web}}
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
metadata: {name: web, namespace: apps}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
""",
]


def corpus_documents():
    """Every document of the lint fixtures: YAML split on `---` lines, JSON files whole."""
    docs = []
    for f in sorted(FIXTURES.rglob("*")):
        if not f.is_file() or f.suffix not in (".yaml", ".yml", ".json"):
            continue
        if f.name == "snapshot.yaml":  # holds a deliberately malformed document
            continue
        text = f.read_text()
        parts = [text] if f.suffix == ".json" else re.split(r"(?m)^---\s*$", text)
        docs += [p.strip() + "\n" for p in parts if re.search(r"(?m)^\s*\"?kind\"?\s*:", p)]
    return docs + EXTRA


def write_corpus(out: pathlib.Path, copies: int):
    """`copies` copies of the corpus, one directory each: YAML documents in one stream, each JSON
    document in a file of its own. Returns (documents, files)."""
    docs = corpus_documents()
    yaml_docs = [d for d in docs if not d.lstrip().startswith("{")]
    json_docs = [d for d in docs if d.lstrip().startswith("{")]
    for i in range(copies):
        d = out / f"copy-{i:03d}"
        d.mkdir()
        (d / "manifests.yaml").write_text("---\n".join(yaml_docs))
        for j, doc in enumerate(json_docs):
            (d / f"doc-{j}.json").write_text(doc)
    return len(docs) * copies, copies * (1 + len(json_docs))


def pod_list(n: int) -> str:
    """A `kubectl get pods -A -o json` List of n pods, shaped as the API server writes them."""
    items = []
    for i in range(n):
        gpu = i % 4 == 0
        c = {
            "name": "trainer" if gpu else "app",
            "image": "nvcr.io/nvidia/pytorch:24.10-py3" if gpu else "ghcr.io/acme/api:1.4.2",
            "imagePullPolicy": "IfNotPresent",
            "resources": {
                "limits": {"nvidia.com/gpu": "1", "memory": "64Gi"},
                "requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"},
            }
            if gpu
            else {"requests": {"cpu": "500m", "memory": "512Mi"}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "volumeMounts": [
                {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access", "readOnly": True}
            ],
        }
        if gpu:
            c["command"] = ["torchrun", "--nproc_per_node=1", "train.py"]
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "creationTimestamp": "2026-11-29T10:00:00Z",
                    "generateName": f"job-{i}-",
                    "labels": {"app": f"job-{i}", "pod-template-hash": "7d9f8c6b5"},
                    "name": f"job-{i}-abcde",
                    "namespace": f"team-{i % 17}",
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "blockOwnerDeletion": True,
                            "controller": True,
                            "kind": "ReplicaSet",
                            "name": f"job-{i}",
                            "uid": f"0000-{i}",
                        }
                    ],
                    "resourceVersion": str(4000000 + i),
                    "uid": f"1111-{i}",
                },
                "spec": {
                    "containers": [c],
                    "dnsPolicy": "ClusterFirst",
                    "nodeName": f"node-{i % 50}",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "serviceAccountName": "default",
                    "tolerations": [
                        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}
                    ],
                    "volumes": [
                        {
                            "name": "kube-api-access",
                            "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]},
                        }
                    ],
                },
                "status": {"phase": "Running", "hostIP": "10.0.1.2", "podIP": "10.1.2.3", "qosClass": "Burstable"},
            }
        )
    return json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4) + "\n"


def run(cmd, ok_codes=(0, 1)):
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one run. The CPU time is
    what one core spends whatever else the machine runs; /usr/bin/time measures it and the RSS."""
    timer = ["/usr/bin/time", "-f", "%U %S %M"] if os.access("/usr/bin/time", os.X_OK) else []
    start = time.perf_counter()
    r = subprocess.run(timer + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode not in ok_codes:
        sys.exit(f"{cmd} exited {r.returncode}: {r.stderr[-2000:]}")
    last = (r.stderr.strip().splitlines() or [""])[-1].split()
    if timer and len(last) == 3:
        return elapsed, float(last[0]) + float(last[1]), int(last[2])
    return elapsed, elapsed, 0


def best(cmd, repeat):
    runs = [run(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=100, help="copies of the corpus (default 100)")
    ap.add_argument("--gpuguard", default=str(ROOT / "target" / "release" / "gpuguard"))
    ap.add_argument("--checkov", default=shutil.which("checkov") or "/tmp/checkov-venv/bin/checkov")
    ap.add_argument("--repeat", type=int, default=3, help="gpuguard runs per measurement; the best counts")
    ap.add_argument("--skip-checkov", action="store_true")
    a = ap.parse_args()
    if not os.access(a.gpuguard, os.X_OK):
        sys.exit(f"no gpuguard binary at {a.gpuguard}: cargo build --release -p gpuguard-cli")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    lint = pin + [a.gpuguard, "lint", "--format", "json", "--fail-on", "never"]

    with tempfile.TemporaryDirectory(prefix="gpuguard-lint-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        corpus = tmp / "corpus"
        corpus.mkdir()
        docs, files = write_corpus(corpus, a.copies)
        size = sum(f.stat().st_size for f in corpus.rglob("*") if f.is_file())
        print(f"corpus: {a.copies} copies, {docs:,} documents in {files:,} files, {size / 1e6:.1f} MB")
        gg, gg_cpu, gg_rss = best(lint + [str(corpus)], a.repeat)
        print(
            f"gpuguard: {gg:.3f} s wall, {docs / gg:,.0f} documents/s on one core; "
            f"{gg_cpu:.3f} s CPU, {docs / gg_cpu:,.0f} documents per CPU second; peak RSS {gg_rss / 1024:.1f} MiB"
        )
        if not a.skip_checkov:
            if not os.access(a.checkov, os.X_OK):
                print(f"checkov: not installed at {a.checkov}; no ratio this run")
            else:
                ck, ck_cpu, ck_rss = run(
                    [a.checkov, "-d", str(corpus), "--framework", "kubernetes", "--quiet", "--compact", "--skip-download"]
                )
                print(f"checkov:  {ck:.3f} s wall, {docs / ck:,.0f} documents/s; {ck_cpu:.3f} s CPU; peak RSS {ck_rss / 1024:.1f} MiB")
                print(f"ratio: gpuguard is {ck / gg:,.0f}x faster than Checkov on the same corpus ({ck_cpu / gg_cpu:,.0f}x in CPU time)")

        times = {}
        for n in (0, 100, 4000):
            f = tmp / f"pods-{n}.json"
            f.write_text(pod_list(n))
            # Wall time, best of several: /usr/bin/time's CPU time counts in 10 ms steps.
            t, _, rss = best(lint + [str(f)], a.repeat * 5 if n < 4000 else a.repeat)
            times[n] = t
            size = f.stat().st_size
            if n == 0:
                continue
            print(
                f"List of {n:>5} pods: {size / 1e6:6.2f} MB, {t * 1000:8.1f} ms, "
                f"peak RSS {rss / 1024:6.1f} MiB ({rss * 1024 / size:.1f}x the input)"
            )
        # Process start-up and the empty List's cost are the same for both: take them out.
        base = times[0]
        print(
            f"List scaling: 4,000 pods take {times[4000] / times[100]:.1f}x the time of 100 "
            f"({(times[4000] - base) / max(times[100] - base, 1e-9):.1f}x without the {base * 1000:.1f} ms of an empty List; 40x is linear)"
        )


if __name__ == "__main__":
    main()
