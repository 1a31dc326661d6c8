"""deploy/: the manifests pass gpuguard's own linter, the Prometheus rules pass promtool (syntax and
unit tests), the rules and the Grafana dashboard only use metrics the real agent exports, the
NetworkPolicy admits only the Prometheus namespace, the ServiceMonitor finds the Service, and the
documented web-config Secret really turns on TLS and basic auth.

The promtool tests need Debian's `prometheus` package (the `promtool` fixture in conftest.py skips
them, saying so, without it).
"""

import json
import pathlib
import re
import selectors
import shutil
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY_ROOT = ROOT / "deploy"
DEPLOY = DEPLOY_ROOT / "kubernetes"
DASHBOARD = DEPLOY_ROOT / "grafana" / "gpuguard-agent.json"
RULES = DEPLOY / "prometheus-rules.yaml"
RULES_TEST = DEPLOY / "prometheus-rules.test.yaml"
ECC_SOURCE = ROOT / "crates" / "gpuguard" / "src" / "ecc" / "check.rs"
NVML_SOURCE = ROOT / "crates" / "gpuguard-agent" / "src" / "collector" / "nvml.rs"

# Metric names a rule may use that a GPU-less agent does not serve, each with the reason.
# NVML families exist only when NVML answers, i.e. on a node with an NVIDIA driver.
GPU_ONLY = {
    "gpuguard_ecc_errors_total": "NVML ECC counters: only when NVML answers (a GPU and its driver)",
    "gpuguard_ecc_pending": "NVML pending page retirement / row remap: only when NVML answers",
    "gpuguard_ecc_remap_failure": "NVML row-remap failure: only when NVML answers",
    "gpuguard_ecc_remapped_rows": "NVML remapped rows: only when NVML answers",
    "gpuguard_ecc_retired_pages": "NVML retired pages: only when NVML answers",
    "gpuguard_gpu_processes": "NVML compute processes per GPU: only when NVML answers",
    "gpuguard_gpu_mig_enabled": "NVML MIG mode per GPU: only when NVML answers",
}
# Series Prometheus makes itself for every target; no exporter serves them.
PROMETHEUS_OWN = {"up": "written by Prometheus for every scrape target"}

XID_LINES = (
    "Nov 28 10:00:00 gpu-node-1 kernel: [  812.345678] NVRM: Xid (PCI:0000:3b:00): 48, pid=4242, name=python, "
    "An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at partition 0, subpartition 0.\n"
    "Nov 28 10:00:05 gpu-node-1 kernel: [  817.000001] NVRM: Xid (PCI:0000:3b:00): 48, pid=4242, name=python, "
    "An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at partition 0, subpartition 1.\n"
    "Nov 28 10:00:06 gpu-node-1 kernel: [  818.000000] NVRM: Xid (PCI:0000:3b:00): 13, pid=4242, name=python, "
    "Graphics SM Warp Exception on (GPC 0, TPC 0, SM 0)\n"
)


def gpuguard_exe():
    exe = shutil.which("gpuguard")
    assert exe, "the gpuguard console script is not on PATH: install the package first (pip install .)"
    return exe


# --- (a) the manifests pass gpuguard lint ---------------------------------------------------------


@pytest.mark.parametrize("refuse_ignores", [False, True], ids=["annotations-honoured", "annotations-refused"])
def test_deploy_manifests_lint_clean(run_cli, refuse_ignores):
    args = ["lint", "--format", "json", str(DEPLOY_ROOT)]
    if refuse_ignores:
        args.insert(1, "--no-ignore-annotations")
    r = run_cli(*args)
    report = json.loads(r.stdout)
    assert report["findings"] == [], r.stdout
    assert report["errors"] == [], r.stdout
    assert r.returncode == 0, r.stderr
    # The rule files, the kustomization and the dashboard are not Kubernetes workloads: skipped,
    # never errors.
    skipped = [c["reason"] for c in report.get("checks", []) if c["status"] == "skipped"]
    assert all(any(k in s for k in ("prometheus-rules", "kustomization", "grafana/")) for s in skipped), skipped


def test_deploy_manifests_use_no_ignore_annotations():
    for path in DEPLOY.glob("*.yaml"):
        assert "ignore-check.gpuguard.io" not in path.read_text(), f"{path.name} silences a gpuguard rule"


def test_lint_really_checks_the_daemonset(run_cli, tmp_path):
    """The clean result is not the linter looking away: without its GPU-taint tolerations the
    same DaemonSet is flagged (GG002)."""
    text = (DEPLOY / "daemonset.yaml").read_text()
    kept = [line for line in text.splitlines(keepends=True) if "{key: nvidia.com/gpu, operator: Exists" not in line]
    assert len(kept) == len(text.splitlines()) - 2, "the DaemonSet's two GPU tolerations moved; update this test"
    broken = tmp_path / "daemonset.yaml"
    broken.write_text("".join(kept))
    r = run_cli("lint", "--format", "json", "--no-ignore-annotations", str(broken))
    rules = {f["rule"] for f in json.loads(r.stdout)["findings"]}
    assert "GG002" in rules, r.stdout
    assert r.returncode == 1


# --- (b), (c) promtool -------------------------------------------------------------------------


def test_prometheus_rules_check(promtool):
    r = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_prometheus_rules_unit_tests(promtool):
    r = subprocess.run([promtool, "test", "rules", str(RULES_TEST)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_every_alert_has_a_unit_test():
    alerts = set(re.findall(r"^\s*- alert: (\S+)", RULES.read_text(), re.M))
    tested = set(re.findall(r"^\s*alertname: (\S+)", RULES_TEST.read_text(), re.M))
    assert alerts, "no alerts found in the rules file"
    assert alerts <= tested, f"alerts without a promtool test: {sorted(alerts - tested)}"


# --- (d) the rules use only metrics the agent exports -------------------------------------------

PROMQL_WORDS = {
    "and", "or", "unless", "offset", "bool", "on", "ignoring", "by", "without", "group_left", "group_right",
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "inf", "nan",
}


def rule_metric_names():
    """Metric names used in the rules' expressions (each `expr:` is one line in this file)."""
    exprs = re.findall(r"^\s*expr:\s*(.+)$", RULES.read_text(), re.M)
    assert exprs, "no expressions found"
    for expr in exprs:
        assert not expr.strip().startswith(("|", ">")), "multi-line expr: extend rule_metric_names()"
    return metric_names(exprs)


def metric_names(exprs):
    """Metric names used in PromQL expressions (Grafana's $variables only inside matchers and ranges)."""
    names = set()
    for expr in exprs:
        e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
        e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
        e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
        e = re.sub(r"\b(on|ignoring|by|without|group_left|group_right)\s*\([^)]*\)", "", e)  # label lists
        e = re.sub(r"\b\d+(\.\d+)?[smhdwy]?\b", "", e)  # numbers and durations
        for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?", e):
            word, call = m.group(0).split("(")[0].strip(), "(" in m.group(0)
            if not call and word not in PROMQL_WORDS:
                names.add(word)
    return names


def read_until(stream, pattern, seconds):
    """Lines of a child's pipe until one matches `pattern` (or the time is up)."""
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not sel.select(timeout=0.2):
            continue
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m, seen
    return None, seen


def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def exported_names(text):
    return {re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0) for line in text.splitlines() if line and not line.startswith("#")}


@pytest.fixture
def agent_metrics(tmp_path):
    """Starts the real agent on a free loopback port following a log with two XID 48 lines and
    an XID 13, waits for the doctor's first run, and returns the /metrics text."""
    log = tmp_path / "kern.log"
    log.write_text(XID_LINES)
    proc = subprocess.Popen(
        [gpuguard_exe(), "agent", "--listen", "127.0.0.1:0", "--kernel-log", str(log), "--from-start",
         "--doctor-interval", "1", "--nvml-interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        m, seen = read_until(proc.stderr, r"serving http://(\S+)/metrics", 30)
        assert m, f"the agent did not say where it serves: {''.join(seen)!r}"
        url = f"http://{m.group(1)}/metrics"
        deadline, text = time.monotonic() + 30, ""
        while time.monotonic() < deadline:
            text = scrape(url)
            if "gpuguard_doctor_last_run_timestamp_seconds" in text and 'xid="48"' in text:
                break
            time.sleep(0.2)
        assert scrape(url.replace("/metrics", "/healthz")).startswith("ok")
        yield text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_rules_use_only_exported_metrics(agent_metrics):
    text = agent_metrics
    exported = exported_names(text)
    used = rule_metric_names()
    assert {"gpuguard_xid_events_total", "gpuguard_finding", "gpuguard_ecc_remap_failure"} <= used, used

    # The agent counted the log's events under the labels the rules and their tests use.
    # No severity label: it is counted in the fatal/non-fatal families, so series never move.
    assert re.search(r'^gpuguard_xid_events_total\{gpu="0000:3b:00",xid="48",category="memory-ecc"\} 2$', text, re.M), text
    assert re.search(r'^gpuguard_xid_fatal_events_total\{gpu="0000:3b:00",xid="48"\} 2$', text, re.M), text
    assert re.search(r'^gpuguard_finding\{rule="GG010",severity="error"\} \d+$', text, re.M), text

    nvml_up = re.search(r"^gpuguard_nvml_up (\d+)", text, re.M)
    assert nvml_up, text
    for name in sorted(used):
        if name in exported or name in PROMETHEUS_OWN:
            continue
        assert name in GPU_ONLY, f"{name} is used by a rule but the agent does not export it"
        # Only excused where NVML is really absent; on a GPU machine it must be there.
        assert nvml_up.group(1) == "0", f"NVML answers here but {name} is missing from /metrics"


def test_gpu_only_names_are_real_families():
    """The names excused above as GPU-only are families the ECC code really declares (so a typo in
    a rule cannot hide behind the list)."""
    declared = set(re.findall(r'MetricFamily::new\(\s*"([a-z_:]+)"', ECC_SOURCE.read_text() + NVML_SOURCE.read_text()))
    assert set(GPU_ONLY) <= declared, (set(GPU_ONLY) - declared, declared)


def test_agent_metrics_pass_promtool_check(agent_metrics, promtool):
    r = subprocess.run([promtool, "check", "metrics"], input=agent_metrics, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


# --- (e) the Grafana dashboard uses only exported metrics --------------------------------------


def dashboard_queries():
    """Every PromQL expression of the dashboard's panels, and the metric of each label_values()."""
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert exprs and all(exprs), "panels without queries"
    label_metrics = set()
    for v in dash["templating"]["list"]:
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((\w+),\s*\w+\)", q)
            assert m, f"unexpected variable query {q!r}"
            label_metrics.add(m.group(1))
    return dash, exprs, label_metrics


def test_dashboard_is_valid_and_every_panel_queries_the_chosen_datasource():
    dash, exprs, _ = dashboard_queries()
    assert dash["uid"] == "gpuguard-agent" and dash["schemaVersion"] >= 36
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p["description"], p["title"]
    # Every series selector of the selected nodes' panels is filtered by $instance.
    assert all('instance=~"$instance"' in e for e in exprs), [e for e in exprs if "$instance" not in e]


def test_dashboard_uses_only_exported_metrics(agent_metrics):
    _, exprs, label_metrics = dashboard_queries()
    used = metric_names(exprs) | label_metrics
    assert {"gpuguard_xid_events_total", "gpuguard_finding", "gpuguard_kernel_log_state", "gpuguard_ecc_errors_total"} <= used, used
    exported = exported_names(agent_metrics)
    nvml_up = re.search(r"^gpuguard_nvml_up (\d+)", agent_metrics, re.M)
    for name in sorted(used):
        if name in exported or name in PROMETHEUS_OWN:
            continue
        assert name in GPU_ONLY, f"the dashboard queries {name}, which the agent does not export"
        assert nvml_up.group(1) == "0", f"NVML answers here but {name} is missing from /metrics"


# --- (f) NetworkPolicy, ServiceMonitor, web config ---------------------------------------------


def load_yaml(path):
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the manifests")
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_networkpolicy_admits_only_the_prometheus_namespace_and_no_egress():
    (np,) = load_yaml(DEPLOY / "networkpolicy.yaml")
    (ds,) = [d for d in load_yaml(DEPLOY / "daemonset.yaml") if d["kind"] == "DaemonSet"]
    assert np["kind"] == "NetworkPolicy" and np["metadata"]["namespace"] == "gpuguard"
    assert np["spec"]["podSelector"]["matchLabels"] == ds["spec"]["template"]["metadata"]["labels"]
    assert sorted(np["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert np["spec"]["egress"] == []
    (rule,) = np["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert rule["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    container = ds["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "metrics", "containerPort": 9835, "protocol": "TCP"} in container["ports"]
    assert "networkpolicy.yaml" in (DEPLOY / "kustomization.yaml").read_text()


def test_servicemonitor_selects_the_service_and_its_port():
    (sm,) = load_yaml(DEPLOY / "servicemonitor.yaml")
    (svc,) = load_yaml(DEPLOY / "service.yaml")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1" and sm["kind"] == "ServiceMonitor"
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"]["matchNames"] == [svc["metadata"]["namespace"]]
    (ep,) = sm["spec"]["endpoints"]
    assert ep["port"] in [p["name"] for p in svc["spec"]["ports"]] and ep["path"] == "/metrics"
    # The alert rules and the dashboard name nodes by `node`.
    assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"} in ep["relabelings"]


def test_documented_web_config_secret_turns_on_tls_and_basic_auth(tmp_path):
    """The Secret in web-config.example.yaml, with a real certificate in place of its
    placeholders, is what the DaemonSet's commented lines mount and name, and the agent serves
    TLS with the documented user and password (change-me) from it."""
    openssl, curl = shutil.which("openssl"), shutil.which("curl")
    if not (openssl and curl):
        pytest.skip("needs openssl and curl (.ci/run installs them)")
    (secret,) = load_yaml(DEPLOY / "web-config.example.yaml")
    ds_text = (DEPLOY / "daemonset.yaml").read_text()
    assert f"secretName: {secret['metadata']['name']}" in ds_text
    assert "--web.config.file=/etc/gpuguard/web/web-config.yml" in ds_text
    assert "mountPath: /etc/gpuguard/web" in ds_text
    (tmp_path / "web-config.yml").write_text(secret["stringData"]["web-config.yml"])
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "tls.key"), "-out", str(tmp_path / "tls.crt")],
                   check=True, capture_output=True, timeout=60)
    (tmp_path / "kern.log").write_text("")  # a followed log: /healthz is 200 (blind to XIDs it is 503)
    proc = subprocess.Popen([gpuguard_exe(), "agent", "--listen", "127.0.0.1:0", "--web.config.file", str(tmp_path / "web-config.yml"),
                             "--kernel-log", str(tmp_path / "kern.log"),
                             "--doctor-interval", "0", "--nvml-interval", "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        m, seen = read_until(proc.stderr, r"serving https://(\S+)/metrics", 30)
        assert m, "".join(seen)
        base = f"https://{m.group(1)}"

        def status(*args):
            out = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--cacert", str(tmp_path / "tls.crt"), *args],
                                 capture_output=True, text=True, timeout=30)
            return out.stdout

        assert status("-u", "prometheus:change-me", f"{base}/metrics") == "200"
        assert status("-u", "prometheus:wrong", f"{base}/metrics") == "401"
        assert status(f"{base}/healthz") == "200"  # the probes' paths need no password
        assert status(f"{base}/livez") == "200"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
