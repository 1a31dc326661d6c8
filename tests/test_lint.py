"""gpuguard lint: the Python API (lint_manifests, lint_paths) and the command line."""

import json
import pathlib

import pytest

import gpuguard

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "crates" / "gpuguard" / "tests" / "fixtures" / "lint"

GPU_REQUEST_ONLY = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ml}
spec:
  containers:
  - name: c
    image: nvidia/cuda
    resources: {requests: {nvidia.com/gpu: 1}}
"""

CLEAN = """\
apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  containers: [{name: web, image: nginx}]
"""


def test_lint_manifests_finding_fields():
    report = gpuguard.lint_manifests(GPU_REQUEST_ONLY, filename="pod.yaml")
    assert isinstance(report, gpuguard.Report)
    (f,) = [f for f in report.findings if f.rule == "GG007"]
    assert f.severity == "error"
    assert (f.file, f.line, f.document) == ("pod.yaml", 8, 0)  # the resources line
    assert (f.kind, f.name, f.namespace, f.container) == ("Pod", "p", "ml", "c")
    assert f.path == "spec.containers[0].resources.requests.nvidia.com/gpu"
    assert f.evidence["request"] == "1"


def test_lint_manifests_default_filename_and_clean_input():
    assert gpuguard.lint_manifests(GPU_REQUEST_ONLY).findings[0].file == "<string>"
    assert len(gpuguard.lint_manifests(CLEAN)) == 0


def test_invalid_yaml_is_an_error_not_an_exception():
    report = gpuguard.lint_manifests(CLEAN + "---\nkind: [\n---\n" + GPU_REQUEST_ONLY, filename="m.yaml")
    assert len(report.errors) == 1
    assert report.errors[0]["file"] == "m.yaml"
    assert report.errors[0]["line"] >= 6
    assert any(f.rule == "GG007" for f in report.findings)


IGNORED_GG007 = GPU_REQUEST_ONLY.replace(
    "metadata: {name: p, namespace: ml}", "metadata: {name: p, annotations: {ignore-check.gpuguard.io/GG007: reviewed}}"
)


def gg007(report):
    return [f for f in report.findings if f.rule == "GG007"]


def test_ignore_annotation_and_refusing_it():
    assert not gg007(gpuguard.lint_manifests(IGNORED_GG007))
    assert not gg007(gpuguard.lint_manifests(IGNORED_GG007, honour_ignore_annotations=True))
    # False is the CLI's --no-ignore-annotations: the annotation is refused, the finding stays.
    assert gg007(gpuguard.lint_manifests(IGNORED_GG007, honour_ignore_annotations=False))
    # The third positional argument kept its meaning across the rename.
    assert gg007(gpuguard.lint_manifests(IGNORED_GG007, "m.yaml", False))


def test_lint_paths_honours_or_refuses_annotations(tmp_path):
    (tmp_path / "pod.yaml").write_text(IGNORED_GG007)
    assert not gg007(gpuguard.lint_paths(tmp_path))
    assert gg007(gpuguard.lint_paths(tmp_path, honour_ignore_annotations=False))


@pytest.mark.parametrize("lint", ["manifests", "paths"])
@pytest.mark.parametrize("value", [True, False])
def test_ignore_annotations_is_a_deprecated_alias(lint, value, tmp_path):
    (tmp_path / "pod.yaml").write_text(IGNORED_GG007)
    call = {"manifests": lambda **kw: gpuguard.lint_manifests(IGNORED_GG007, **kw),
            "paths": lambda **kw: gpuguard.lint_paths(tmp_path, **kw)}[lint]
    with pytest.warns(DeprecationWarning, match="use `honour_ignore_annotations`") as caught:
        old = call(ignore_annotations=value)
    # The warning points at the caller's line, not inside gpuguard.
    assert caught[0].filename == __file__
    assert bool(gg007(old)) is (not value)
    assert gg007(old) == gg007(call(honour_ignore_annotations=value))
    # Both agreeing is allowed (still warns); both contradicting names both.
    with pytest.warns(DeprecationWarning):
        call(honour_ignore_annotations=value, ignore_annotations=value)
    with pytest.raises(TypeError, match="honour_ignore_annotations.*ignore_annotations"):
        call(honour_ignore_annotations=value, ignore_annotations=not value)


def test_lint_paths_dirs_and_missing(tmp_path):
    report = gpuguard.lint_paths([FIXTURES / "flagged", tmp_path / "missing.yaml"])
    assert {f.rule for f in report.findings} == {"GG001", "GG002", "GG003", "GG004", "GG006", "GG007", "GG008", "GG009"}
    assert len(report.errors) == 1
    single = gpuguard.lint_paths(str(FIXTURES / "flagged" / "gg004.yaml"))
    assert [f.rule for f in single.findings] == ["GG004"] * 6
    with pytest.raises(TypeError, match="paths"):
        gpuguard.lint_paths(42)


def test_cli_exit_codes_and_stdin(run_cli):
    assert run_cli("lint", "-", input=CLEAN).returncode == 0
    r = run_cli("lint", "-", input=GPU_REQUEST_ONLY)
    assert r.returncode == 1
    assert r.stdout.startswith("<stdin>\n")
    assert "[GG007]" in r.stdout
    assert run_cli("lint", "--fail-on", "never", "-", input=GPU_REQUEST_ONLY).returncode == 0
    bad = run_cli("lint", "-", input="kind: [\n")
    assert bad.returncode == 2
    assert "<stdin>:" in bad.stdout


def test_cli_json_schema(run_cli):
    r = run_cli("lint", "--format", "json", str(FIXTURES / "snapshot.yaml"))
    assert r.returncode == 2  # the snapshot fixture has one malformed document
    doc = json.loads(r.stdout)
    assert doc["schema"] == 1
    assert doc["summary"]["input_errors"] == 1
    for f in doc["findings"]:
        for key in ("rule", "severity", "message", "fix", "file", "line", "document", "kind", "name", "namespace", "container", "path"):
            assert key in f
    assert {"file", "line", "message"} <= set(doc["errors"][0])


def test_cli_sarif(run_cli):
    r = run_cli("lint", "--format", "sarif", str(FIXTURES / "flagged" / "gg007.yaml"))
    assert r.returncode == 1
    log = json.loads(r.stdout)
    assert log["version"] == "2.1.0"
    results = log["runs"][0]["results"]
    gg007 = [x for x in results if x["ruleId"] == "GG007"]
    assert len(gg007) == 5  # one per document of the fixture
    assert gg007[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 8
    assert gg007[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("gg007.yaml")


def test_cli_sarif_is_valid_and_fingerprints_survive_moved_lines(run_cli, tmp_path, validate_sarif):
    # A name with a space: the artifact URI must be percent-encoded to be a URI reference.
    src = (FIXTURES / "flagged" / "gg007.yaml").read_text()
    manifest = tmp_path / "my jobs.yaml"
    manifest.write_text(src)
    before = json.loads(run_cli("lint", "--format", "sarif", str(manifest)).stdout)
    assert validate_sarif(before) == []
    # The next commit adds a comment block on top: every line moves, no finding changes.
    manifest.write_text("# owner: ml-platform\n# reviewed: yes\n\n" + src)
    after = json.loads(run_cli("lint", "--format", "sarif", str(manifest)).stdout)
    assert validate_sarif(after) == []

    def by_fingerprint(log):
        return {r["partialFingerprints"]["gpuguard/v1"]: r for r in log["runs"][0]["results"]}

    # Input errors (a malformed document) travel as tool notifications; still valid SARIF.
    broken = json.loads(run_cli("lint", "--format", "sarif", str(FIXTURES / "snapshot.yaml")).stdout)
    assert validate_sarif(broken) == []
    assert broken["runs"][0]["invocations"][0]["toolExecutionNotifications"], broken["runs"][0]["invocations"]

    old, new = by_fingerprint(before), by_fingerprint(after)
    assert len(old) == len(before["runs"][0]["results"]) >= 3, "each result has its own fingerprint"
    assert old.keys() == new.keys()
    for fp, r in old.items():
        assert fp.startswith(r["ruleId"] + "|") and "my jobs.yaml" in fp
        line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert new[fp]["locations"][0]["physicalLocation"]["region"]["startLine"] == line + 3
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("my%20jobs.yaml")


def test_cli_config_and_strict(run_cli, tmp_path):
    cfg = tmp_path / "gg.yaml"
    cfg.write_text("disable: [GG001]\nseverity: {GG007: info}\nfail-on: error\n")
    r = run_cli("lint", "--config", str(cfg), "--format", "json", "-", input=GPU_REQUEST_ONLY)
    doc = json.loads(r.stdout)
    assert r.returncode == 0, r.stdout
    assert [f["severity"] for f in doc["findings"]] == ["info"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [GG042]\n")
    r = run_cli("lint", "--config", str(bad), "-", input=CLEAN)
    assert r.returncode == 2
    assert "GG042" in r.stderr


def test_cli_reads_stdin_without_paths_and_skips_symlink_loops(run_cli, tmp_path):
    r = run_cli("lint", input=GPU_REQUEST_ONLY)
    assert r.returncode == 1
    assert "[GG007]" in r.stdout
    (tmp_path / "pod.yaml").write_text(GPU_REQUEST_ONLY)
    (tmp_path / "loop").symlink_to(tmp_path)
    r = run_cli("lint", "--format", "json", str(tmp_path))
    doc = json.loads(r.stdout)
    assert len([f for f in doc["findings"] if f["rule"] == "GG007"]) == 1


FIELD_CASES = FIXTURES / "field-cases"


@pytest.mark.parametrize(
    ("case", "rules"),
    [
        ("mpijob_cpu_launcher.yaml", []),
        ("trainer_v2_cluster_training_runtime.yaml", ["GG001", "GG003", "GG007"]),
        ("pod_requests_only.json", ["GG001", "GG003", "GG007"]),
        ("vllm_startup_probe_3s.yaml", ["GG001", "GG009"]),
    ],
)
def test_field_cases_through_the_cli(run_cli, case, rules):
    r = run_cli("lint", "--format", "json", str(FIELD_CASES / case))
    doc = json.loads(r.stdout)
    assert r.returncode == (1 if rules else 0), r.stdout
    assert doc["errors"] == [] and doc["skipped"] == []
    assert sorted(f["rule"] for f in doc["findings"]) == rules
    if case == "pod_requests_only.json":
        (gg007,) = [f for f in doc["findings"] if f["rule"] == "GG007"]
        assert gg007["line"] == 11


def test_cluster_audit_from_stdin_with_a_price(run_cli):
    listing = (FIXTURES / "cluster" / "kubectl_get_nodes_pods_daemonsets.json").read_text()
    r = run_cli("lint", "--format", "json", "--gpu-node-hourly-cost", "98.32", "-", input=listing)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    (audit,) = [f for f in doc["findings"] if "cpu_pods" in f["evidence"]]
    assert audit["name"] == "ip-10-0-12-34.ec2.internal"
    assert audit["evidence"]["cost_per_day_usd"] == 591.61
    assert [p["name"] for p in audit["evidence"]["node_agent_pods"]] == ["kube-proxy-5n8xv"]
    assert audit["file"] == "<stdin>"
    bad = run_cli("lint", "--gpu-node-hourly-cost=0", "-", input=listing)
    assert bad.returncode == 2 and "gpu-node-hourly-cost" in bad.stderr


def test_skipped_objects_are_counted_and_listed(run_cli):
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n"
    text = run_cli("lint", "-", input=widget)
    assert text.returncode == 0
    assert "1 object(s) skipped" in text.stdout
    doc = json.loads(run_cli("lint", "--format", "json", "-", input=widget).stdout)
    (s,) = doc["skipped"]
    assert (s["kind"], s["name"], s["line"]) == ("Widget", "w", 1)
    assert "Widget" in s["reason"]


def test_invalid_utf8_document_is_an_error_for_that_document_only(run_cli, tmp_path):
    f = tmp_path / "m.yaml"
    f.write_bytes(b"kind: ConfigMap\nmetadata: {name: \"\xff\"}\n---\n" + GPU_REQUEST_ONLY.encode())
    r = run_cli("lint", "--format", "json", str(f))
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert [(e["line"], "UTF-8" in e["message"]) for e in doc["errors"]] == [(2, True)]
    assert [x["rule"] for x in doc["findings"]] == ["GG007"]


def test_size_cap_and_fifo_in_a_directory(run_cli, tmp_path):
    import os

    (tmp_path / "pod.yaml").write_text(GPU_REQUEST_ONLY)
    os.mkfifo(tmp_path / "pipe.yaml")  # nobody writes to it: reading it would hang
    r = run_cli("lint", "--format", "json", "--max-file-bytes", "100", str(tmp_path))
    doc = json.loads(r.stdout)
    assert r.returncode == 2
    assert "cap" in doc["errors"][0]["message"]
    assert any("pipe.yaml" in c["reason"] and "FIFO" in c["reason"] for c in doc["checks"])


def test_cli_sarif_suppressed_finding_is_valid(run_cli, validate_sarif):
    """A finding silenced by an annotation (slug form) is a SARIF result with an inSource suppression."""
    pod = GPU_REQUEST_ONLY.replace(
        "metadata: {name: p, namespace: ml}",
        "metadata: {name: p, annotations: {ignore-check.gpuguard.io/gpu-requests-limits: reviewed}}",
    )
    log = json.loads(run_cli("lint", "--format", "sarif", "-", input=pod).stdout)
    assert validate_sarif(log) == []
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "GG007"]
    assert results and results[0]["suppressions"] == [{"kind": "inSource", "justification": "reviewed"}]
