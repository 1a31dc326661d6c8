import json

import pytest


def test_console_script_and_module_run_the_same_entry_point(run_cli, run_module):
    a, b = run_cli("footguns", "--format", "json"), run_module("footguns", "--format", "json")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    data = json.loads(a.stdout)
    assert data["schema"] == 1 and len(data["footguns"]) == 10 and data["errors"] == []


def test_explain(run_cli):
    r = run_cli("explain", "GG001")
    assert r.returncode == 0 and "64 MiB" in r.stdout and "emptyDir" in r.stdout
    assert run_cli("explain", "dev-shm").stdout == r.stdout
    bad = run_cli("explain", "GG042")
    assert bad.returncode == 2 and "GG042" in bad.stderr


def test_usage_error_exits_2(run_cli):
    assert run_cli("no-such-command").returncode == 2
    assert run_cli("--version").returncode == 0


def test_doctor_json_schema(run_cli):
    r = run_cli("doctor", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    assert data["schema"] == 1 and data["command"] == "doctor"
    assert {"findings", "checks", "errors", "summary"} <= data.keys()
    for check in data["checks"]:
        assert check["status"] in {"ok", "finding", "skipped"} and check["reason"]


def test_doctor_fails_when_the_gpus_it_expects_are_missing(tmp_path, run_cli):
    (tmp_path / "dev").mkdir()
    r = run_cli("doctor", "--root", str(tmp_path), "--expect-gpus", "2", "--format", "json")
    assert r.returncode == 1
    assert [f["rule"] for f in json.loads(r.stdout)["findings"]] == ["GG008"]


def test_shm_and_checkpoint_commands(run_cli):
    r = run_cli("shm", "--workers", "8", "--batch-bytes", "64Mi", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["recommendation"]["quantity"] == "2Gi"
    r = run_cli("shm", "--workers", "8", "--batch-bytes", "64Mi", "--prefetch-factor", "0")
    assert r.returncode == 2 and "`--prefetch-factor`" in r.stderr
    r = run_cli("checkpoint", "--hourly-cost", "32", "--run-hours", "70", "--checkpoint-seconds", "120", "--interruption-rate", "0.05", "--json")
    plan = json.loads(r.stdout)["plan"]
    assert plan["keep_last"] == 3 and plan["interval_seconds"] > 0


def test_closed_pipe_is_not_a_crash(run_cli, tmp_path):
    import subprocess
    import shutil

    p = subprocess.run(f"{shutil.which('gpuguard')} footguns --format json | head -c 10", shell=True, capture_output=True, text=True)
    assert "panicked" not in p.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_doctor_formats(run_cli, fmt):
    r = run_cli("doctor", "--format", fmt)
    assert r.returncode in (0, 1) and r.stdout


def test_shm_reads_docker_sizes_like_docker(run_cli):
    # The issue's case: `512m` is Docker's 512 MiB, never Kubernetes' milli.
    docker = run_cli("shm", "--workers", "16", "--batch-bytes", "512m", "--format", "json")
    kube = run_cli("shm", "--workers", "16", "--batch-bytes", "512Mi", "--format", "json")
    assert docker.returncode == kube.returncode == 0, docker.stderr
    d, k = json.loads(docker.stdout), json.loads(kube.stdout)
    assert d["recommendation"] == k["recommendation"]
    assert d["summary"] == {"required_bytes": d["recommendation"]["required_bytes"], "size_limit": "26Gi", "docker_shm_size": "26g"}
    assert d["inputs"]["batch_bytes"]["read_as"].startswith("512m read as 512 MiB")
    text = run_cli("shm", "--workers", "16", "--batch-bytes", "512m").stdout
    assert "Kubernetes' m would be milli" in text and "--shm-size=26g" in text


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_shm_and_checkpoint_take_every_format(run_cli, fmt):
    for args in (
        ["shm", "--workers", "8", "--batch-bytes", "64Mi"],
        ["checkpoint", "--hourly-cost", "32", "--run-hours", "70", "--checkpoint-seconds", "120", "--interruption-rate", "0.05"],
    ):
        r = run_cli(*args, "--format", fmt)
        assert r.returncode == 0 and r.stdout, (args, r.stderr)
        if fmt == "json":
            assert json.loads(r.stdout)["schema"] == 1


def test_checkpoint_fails_on_a_wasteful_current_interval(run_cli):
    args = ["checkpoint", "--hourly-cost", "512", "--run-hours", "336", "--checkpoint-seconds", "180",
            "--interruption-rate", "0.2", "--nodes", "16", "--restart-seconds", "600", "--current-interval-seconds", "60"]
    r = run_cli(*args, "--format", "json")
    assert r.returncode == 0, r.stderr  # a warning; the default fail level is error
    [finding] = json.loads(r.stdout)["findings"]
    assert finding["rule"] == "GG003" and finding["severity"] == "warning"
    assert "every 60 s wastes" in finding["message"]
    assert run_cli(*args, "--fail-on", "warning").returncode == 1
    assert run_cli(*args, "--fail-on", "never").returncode == 0


def test_negative_numbers_are_explained(run_cli):
    r = run_cli("shm", "--workers", "-1", "--batch-bytes", "8Mi")
    assert r.returncode == 2 and "-1 is negative" in r.stderr and "unexpected argument" not in r.stderr


def test_explain_several_and_none(run_cli):
    r = run_cli("explain", "GG001", "GG002", "--format", "json")
    assert r.returncode == 0
    assert [f["id"] for f in json.loads(r.stdout)["footguns"]] == ["GG001", "GG002"]
    listing = run_cli("explain").stdout
    assert sum(line.startswith("GG0") for line in listing.splitlines()) == 10


def test_bash_completion_from_the_console_script(run_cli, tmp_path):
    import shutil
    import subprocess

    script = tmp_path / "gpuguard.bash"
    script.write_text(run_cli("completions", "bash").stdout)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    driver = f'source {script}; COMP_WORDS=(gpuguard ch); COMP_CWORD=1; _gpuguard gpuguard ch gpuguard; printf "%s\\n" "${{COMPREPLY[@]}}"'
    out = subprocess.run(["bash", "-c", driver], capture_output=True, text=True).stdout.split()
    assert "checkpoint" in out, out
    assert shutil.which("bash")


def test_checkpoint_without_checkpoints_never_prints_a_40_digit_number(run_cli):
    # Meta's ~7.9 h MTTF at 1,024 GPUs over a 720 h run: e^(720/7.9) hours without checkpoints.
    r = run_cli("checkpoint", "--hourly-cost", "32", "--run-hours", "720", "--checkpoint-seconds", "300",
                "--interruption-rate", "0.632", "--period-hours", "7.9")
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if l.startswith("without checkpoints"))
    assert "never finishes in practice" in line and "e40 h" in line, line
    r = run_cli("checkpoint", "--hourly-cost", "32", "--run-hours", "70", "--checkpoint-seconds", "120",
                "--interruption-rate", "0.05")
    assert "without checkpoints: 70.2 h, $2,246" in r.stdout, r.stdout


def test_readme_actions_job_uploads_the_sarif_even_when_lint_exits_2(tmp_path):
    """The README's GitHub Actions job: its lint step exits 2 on a file it cannot read (after
    writing the SARIF that says so), and Actions skips later steps after a failed one unless they
    say `if:`; the upload step must run then, or code scanning never sees the error."""
    import re
    import shutil
    import subprocess
    from pathlib import Path

    yaml = pytest.importorskip("yaml", reason="needs PyYAML to read the README's workflow")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "upload-sarif" in b)
    steps = yaml.safe_load(block)["gpuguard"]["steps"]
    lint = next(s for s in steps if "gpuguard lint" in s.get("run", ""))
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert steps.index(upload) > steps.index(lint)
    condition = str(upload.get("if", "")).replace(" ", "")
    assert "always()" in condition or "failure()" in condition, upload

    # The step as written, on a chart with one good and one broken manifest.
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s/ok.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: x}]\n")
    (tmp_path / "k8s/broken.yaml").write_text("kind: Pod\nspec: [\n")
    assert shutil.which("gpuguard"), "the gpuguard console script is not on PATH"
    r = subprocess.run(["bash", "-c", lint["run"]], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    sarif = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
    notes = sarif["runs"][0]["invocations"][0]
    assert notes["executionSuccessful"] is False and "broken.yaml" in json.dumps(notes)
