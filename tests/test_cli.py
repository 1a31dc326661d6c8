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
    assert r.returncode == 2 and "prefetch_factor" in r.stderr
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
