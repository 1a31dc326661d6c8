"""gpuguard.preflight() / gpuguard.doctor() and `gpuguard doctor` on this machine and on fixture trees."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gpuguard

ROOT = Path(__file__).resolve().parents[1]
HAS_GPU = Path("/dev/nvidiactl").exists()
IS_ROOT = os.geteuid() == 0


def pod_root(tmp_path: Path) -> Path:
    """A Kubernetes pod's view: overlay root, 64 MB shm, an NFS-backed PVC at /mnt/ckpt."""
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mountinfo").write_text(
        "2233 1876 0:312 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
        "2240 2233 0:311 / /dev/shm rw,nosuid,nodev - tmpfs shm rw,size=65536k\n"
        "2251 2233 0:55 / /mnt/ckpt rw,relatime - nfs4 10.0.0.5:/exports/pvc-3a7c rw,vers=4.1\n"
    )
    (tmp_path / "var/run/secrets/kubernetes.io/serviceaccount").mkdir(parents=True)
    return tmp_path


def test_preflight_runs_every_probe_on_this_machine():
    report = gpuguard.preflight()
    names = [c.name for c in report.checks]
    for name in ["container", "dev-shm", "hf-cache", "gpu-devices", "nvml", "gpu-env", "driver", "kernel-log"]:
        assert name in names
    nvml = next(c for c in report.checks if c.name == "nvml")
    if not HAS_GPU:
        assert nvml.status == "skipped"
        assert nvml.reason.startswith("no NVIDIA driver library found")


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU: expecting one is not a failure")
def test_strict_raises_with_the_report_and_warn_warns():
    with pytest.raises(gpuguard.PreflightError) as e:
        gpuguard.preflight(expect_gpus=1, strict=True)
    assert isinstance(e.value, gpuguard.GpuGuardError)
    assert "GG008" in str(e.value)
    assert [f.rule for f in e.value.report.findings if f.severity == "error"] == ["GG008"]
    with pytest.warns(gpuguard.GpuGuardWarning, match="GG008 error: expected 1 GPU"):
        report = gpuguard.preflight(expect_gpus=1, warn=True)
    assert not report.ok
    assert gpuguard.preflight(expect_gpus=1, strict=True, fail_on="never").fails_at("error")


def test_checkpoint_dir_on_overlay_vs_pvc(tmp_path):
    root = pod_root(tmp_path)
    report = gpuguard.preflight(checkpoint_dir="/workspace/ckpt", root=root)
    ck = [f for f in report.findings if f.rule == "GG003" and f.severity == "error"]
    assert len(ck) == 1 and "container's writable layer" in ck[0].message
    assert ck[0].evidence["fs_type"] == "overlay"
    with pytest.raises(gpuguard.PreflightError):
        gpuguard.preflight(checkpoint_dir="/workspace/ckpt", root=root, strict=True)
    report = gpuguard.preflight(checkpoint_dir="/mnt/ckpt/run1", root=root)
    assert not [f for f in report.findings if f.rule == "GG003" and f.severity == "error"]
    container = next(c for c in report.checks if c.name == "container")
    assert container.reason.startswith("kubernetes")


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="fail_on"):
        gpuguard.preflight(fail_on="fatal")
    with pytest.raises(ValueError, match="dataloader_workers"):
        gpuguard.preflight(dataloader_workers=4)
    with pytest.raises(ValueError, match="batch_bytes"):
        gpuguard.preflight(dataloader_workers=4, batch_bytes=-1)
    with pytest.raises(ValueError, match="expect_gpus"):
        gpuguard.preflight(expect_gpus=-1)


@pytest.mark.skipif(not IS_ROOT or not shutil.which("unshare"), reason="needs root for unshare -m and a tmpfs mount")
def test_small_dev_shm_made_with_unshare():
    code = (
        "import gpuguard, json; r = gpuguard.preflight(dataloader_workers=4, batch_bytes=8 << 20);"
        "print(json.dumps([[f.rule, f.severity, f.message] for f in r.findings]))"
    )
    out = subprocess.run(
        ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=48m tmpfs /dev/shm && exec "$0" -c "$1"', sys.executable, code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    findings = json.loads(out.stdout)
    shm = [f for f in findings if f[0] == "GG001"]
    assert shm and shm[0][1] == "error" and shm[0][2].startswith("/dev/shm has 48.0 MiB free"), findings


def test_scripted_nvml_through_python(tmp_path, fake_nvml):
    lib = fake_nvml("ecc")
    report = gpuguard.doctor(root=tmp_path, nvml_library=lib)
    nvml = next(c for c in report.checks if c.name == "nvml")
    assert nvml.status == "finding" and "NVIDIA H100 80GB HBM3" in nvml.reason
    ecc = [f for f in report.findings if f.rule == "GG005"]
    assert ecc[0].evidence["ecc_volatile_uncorrected"] == 2
    assert ecc[0].evidence["pci_bus_id"] == "00000000:3B:00.0"


def test_cli_doctor_json_schema(run_cli, tmp_path):
    root = pod_root(tmp_path)
    out = run_cli("doctor", "--format", "json", "--root", str(root), "--checkpoint-dir", "/workspace/ckpt")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema"] == 1 and doc["errors"] == []
    assert {c["status"] for c in doc["checks"]} <= {"ok", "finding", "skipped"}
    assert all(set(c) == {"name", "status", "reason"} for c in doc["checks"])
    assert any(f["rule"] == "GG003" and f["path"] == "/workspace/ckpt" for f in doc["findings"])
    out = run_cli("doctor", "--root", str(root), "--checkpoint-dir", "/workspace/ckpt", "--fail-on", "never")
    assert out.returncode == 0 and "GG003" in out.stdout and "checks:" in out.stdout
    assert run_cli("doctor", "--root", str(root), "--dataloader-workers", "2").returncode == 2


def test_cli_doctor_sarif_gives_host_findings_real_locations(run_cli, tmp_path, fake_nvml, validate_sarif):
    root = pod_root(tmp_path)
    (root / "dev/shm").mkdir(parents=True)  # measured with statvfs: a loader of 8 × 2 × 1 TiB outgrows it
    lib = fake_nvml("ecc")
    out = run_cli("doctor", "--format", "sarif", "--root", str(root), "--checkpoint-dir", "/workspace/ckpt",
                  "--nvml-library", str(lib), "--dataloader-workers", "8", "--batch-bytes", "1Ti")
    assert out.returncode == 1, out.stderr
    log = json.loads(out.stdout)
    assert validate_sarif(log) == []
    results = log["runs"][0]["results"]
    assert {"GG001", "GG003", "GG005"} <= {r["ruleId"] for r in results}, results
    for r in results:
        assert r["locations"] and all(loc for loc in r["locations"]), f"empty location: {r}"
        assert r["partialFingerprints"]["gpuguard/v1"].startswith(r["ruleId"] + "|")
    # A finding about a path: a physical location, and the check it came from by name.
    shm = next(r for r in results if r["ruleId"] == "GG001")
    assert shm["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file:///dev/shm"
    assert shm["locations"][0]["logicalLocations"][0]["name"] == "dev-shm"
    # A finding about a GPU: no file to point at, a logical location naming the GPU.
    ecc = next(r for r in results if r["ruleId"] == "GG005")
    assert "physicalLocation" not in ecc["locations"][0]
    assert ecc["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "xid-errors GPU 00000000:3B:00.0"
