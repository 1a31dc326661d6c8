"""XID classification, parsing and scanning from Python and the `gpuguard xid` command."""

import gzip
import json
import pathlib
import shutil
import subprocess

import pytest

import gpuguard

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "crates/gpuguard/tests/fixtures/xid"
ECC = FIXTURES.parent / "ecc"


def test_classify_known_and_unknown():
    dbe = gpuguard.classify_xid(48)
    assert (dbe.code, dbe.category, dbe.severity, dbe.action) == (48, "memory-ecc", "error", "drain-and-replace")
    assert gpuguard.classify_xid(63).action == "drain-and-replace"
    assert gpuguard.classify_xid(13).category == "application"
    assert gpuguard.classify_xid(31).action == "restart-app"
    assert gpuguard.classify_xid(79).action == "reboot-node"
    assert gpuguard.classify_xid(119).category == "gsp-firmware"
    unknown = gpuguard.classify_xid(4242)
    assert not unknown.known and unknown.category == "unknown"
    assert unknown.to_dict()["code"] == 4242
    with pytest.raises(ValueError, match="code"):
        gpuguard.classify_xid(-1)


def test_classify_carries_nvidia_catalog_words():
    dbe = gpuguard.classify_xid(48)
    assert (dbe.mnemonic, dbe.nvidia_action, dbe.legacy) == ("ROBUST_CHANNEL_GPU_ECC_DBE", "WORKFLOW_XID_48", False)
    assert gpuguard.classify_xid(79).nvidia_action == "RESTART_BM"
    # Unused on current GPUs but described from NVIDIA's older page.
    assert gpuguard.classify_xid(61).legacy and gpuguard.classify_xid(61).known
    # Listed only as unused: unknown, but named.
    unused = gpuguard.classify_xid(15)
    assert (unused.known, unused.mnemonic, unused.nvidia_action) == (False, "ROBUST_CHANNEL_SCANLINE_TIMEOUT", None)
    assert gpuguard.classify_xid(4242).mnemonic == ""
    assert all(gpuguard.classify_xid(c).mnemonic for c in range(1, 173))


def test_scan_follows_the_drivers_recovery_action():
    scan = gpuguard.scan_xid(
        "NVRM: Xid (PCI:0000:01:00): 62, pid=1, name=Xorg, 0000(0000) 00000000 00000000\n"
        "NVRM: Xid (PCI:0000:01:00): 154, GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset Required)\n"
        "NVRM: Xid (PCI:0000:02:00): 13, pid=2, name=python, Graphics SM Warp Exception\n"
        "NVRM: Xid (PCI:0000:02:00): 154, GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)\n"
    )
    verdicts = {v["gpu"]: v for v in scan.summary["verdicts"]}
    assert (verdicts["0000:01:00"]["root_xid"], verdicts["0000:01:00"]["action"]) == (62, "reset-gpu")
    assert (verdicts["0000:02:00"]["root_xid"], verdicts["0000:02:00"]["action"]) == (13, "reboot-node")
    assert verdicts["0000:02:00"]["driver_action"] == "reboot-node"


def test_forms_seen_in_public_reports():
    """Lines in the shapes public bug reports show: a monitor re-logging with its own tags, German
    journalctl months, MIG instances, pre-PCI: drivers, RFC 3339 syslog, NVLink 5 and 154 text."""
    scan = gpuguard.scan_xid(FIXTURES.parent / "xid-public" / "forms.log")
    got = [(e.line, e.xid, e.pci, e.gpu_instance, e.pid, e.timestamp) for e in scan.events]
    assert got == [
        (1, 31, "0000:00:06", None, 79749, None),
        (2, 79, "0000:01:00", None, 1122, "Okt 06 17:59:27"),
        (4, 94, "0000:01:00", 5, 7194, "Mar 01 12:00:00"),
        (5, 13, "0000:01:00", None, None, "May  6 00:38:27"),
        (6, 9, "0000:00:05", None, None, "Nov 18 17:26:39"),
        (7, 119, "0000:01:00", None, 15041, "2026-03-01T12:42:15+01:00"),
        (8, 154, "0000:01:00", None, None, "2026-03-01T12:42:15+01:00"),
        (9, 145, "0000:1b:00", None, None, "123.456"),
        (10, 48, "0000:3b:00", None, 2210, "Mon Mar  2 10:00:00 2026"),
    ]
    # Line 3 ("NVRM: GPU 0000:01:00.0: GPU has fallen off the bus.") is not an XID event.
    verdicts = {v["gpu"]: (v["root_xid"], v["action"]) for v in scan.summary["verdicts"]}
    assert verdicts["0000:01:00"] == (79, "reboot-node")
    assert verdicts["0000:3b:00"] == (48, "drain-and-replace")


def test_parse_line_fields():
    e = gpuguard.parse_xid_line(
        "Jan  1 00:00:00 node kernel: NVRM: Xid (PCI:0000:3b:00): 31, pid='<unknown>', name=<unknown>, Ch 00000008"
    )
    assert (e.xid, e.pci, e.pid, e.process) == (31, "0000:3b:00", None, "<unknown>")
    assert e.timestamp == "Jan  1 00:00:00"
    assert e.message == "Ch 00000008"
    d = e.to_dict()
    for key in ("xid", "pci", "pid", "process", "file", "line", "timestamp", "severity", "category", "action", "message"):
        assert key in d
    assert gpuguard.parse_xid_line(b"[1.0] NVRM: Xid (PCI:0000:01:00): 79, pid=5, name=\xff, x").pid == 5
    assert gpuguard.parse_xid_line("NVRM: GPU at PCI:0000:3b:00: GPU-1234") is None
    with pytest.raises(TypeError, match="line"):
        gpuguard.parse_xid_line(48)


def test_scan_directory_text_and_gzip(tmp_path):
    scan = gpuguard.scan_xid(FIXTURES)
    assert len(scan) == scan.summary["events"] == 22
    verdict = {v["gpu"]: v for v in scan.summary["verdicts"]}
    assert verdict["0000:3b:00"]["root_xid"] == 48
    assert all(f.rule == "GG005" for f in scan.findings)
    assert scan.report().fails_at("error")

    text = (FIXTURES / "dmesg.log").read_text()
    assert len(gpuguard.scan_xid(text)) == 7
    gz = tmp_path / "kern.log.1.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    events = gpuguard.scan_xid(str(gz)).events
    assert [e.xid for e in events] == [48, 45, 63, 13, 13, 43, 79]
    assert [e.follow_on for e in events][:3] == [False, True, True]
    assert events[0].line == 6

    with pytest.raises(gpuguard.GpuGuardError, match="no-such-log"):
        gpuguard.scan_xid(str(tmp_path / "no-such-log"))


def test_cli_json_exit_codes(run_cli):
    r = run_cli("xid", "--format", "json", str(FIXTURES / "dmesg.log"))
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == 1 and doc["errors"] == []
    assert [e["xid"] for e in doc["events"]] == [48, 45, 63, 13, 13, 43, 79]
    assert doc["events"][0]["line"] == 6 and doc["events"][0]["pid"] == 2210

    clean = run_cli("xid", str(FIXTURES / "near-misses.log"))
    assert clean.returncode == 0 and "0 XID event(s)" in clean.stdout
    # Only application faults: below the default fail level, at it with --fail-on warning.
    app = "[1.0] NVRM: Xid (PCI:0000:01:00): 13, pid=1, name=p, Graphics Exception\n"
    assert run_cli("xid", "-", input=app).returncode == 0
    assert run_cli("xid", "--fail-on", "warning", "-", input=app).returncode == 1
    missing = run_cli("xid", "--format", "json", str(FIXTURES / "dmesg.log"), "/no/such/file")
    assert missing.returncode == 2
    doc = json.loads(missing.stdout)
    assert doc["errors"][0]["file"] == "/no/such/file" and len(doc["events"]) == 7


def test_cli_ecc_snapshots(run_cli, tmp_path):
    later = (ECC / "nvidia-smi-q-h100.txt").read_text()
    later = later.replace("08:00:00 2024", "08:10:00 2024").replace(": 15\n", ": 215\n", 1)
    snap2 = tmp_path / "later.txt"
    snap2.write_text(later)
    r = run_cli("xid", "--format", "json", "--nvidia-smi", str(ECC / "nvidia-smi-q-h100.txt"),
                "--nvidia-smi", str(snap2), str(FIXTURES / "near-misses.log"))
    doc = json.loads(r.stdout)
    messages = [f["message"] for f in doc["findings"]]
    assert any("climbing" in m and "00000000:3B:00.0" in m for m in messages), messages
    assert any("uncorrected" in m for m in messages)
    assert r.returncode == 1


def test_explain_xid(run_cli):
    r = run_cli("explain", "xid", "48")
    assert r.returncode == 0 and "drain-and-replace" in r.stdout
    assert run_cli("explain", "GG001").returncode == 0
    assert run_cli("explain", "xid", "nope").returncode == 2


def test_prometheus_output_passes_promtool(run_cli, tmp_path, promtool):
    r = run_cli("xid", "--format", "prometheus", "--nvidia-smi", str(ECC / "nvidia-smi-q-v100.txt"), str(FIXTURES))
    assert r.returncode == 1
    assert 'gpuguard_xid_events_total{gpu="0000:3b:00",xid="48",severity="error",category="memory-ecc"} 1' in r.stdout
    assert 'gpuguard_ecc_errors_total{gpu="00000000:00:1E.0",type="corrected",scope="aggregate"} 1207' in r.stdout
    check = subprocess.run([promtool, "check", "metrics"], input=r.stdout, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_ecc_parse_and_rate():
    gpus = gpuguard.parse_nvidia_smi_q((ECC / "nvidia-smi-q-h100.txt").read_text())
    assert [g["gpu"] for g in gpus] == ["00000000:18:00.0", "00000000:3B:00.0"]
    assert (gpus[1]["volatile_corrected"], gpus[1]["volatile_uncorrected"]) == (17, 1)
    assert gpus[1]["remapped_rows_pending"] is True and gpus[1]["retired_pages_sbe"] is None
    rate = gpuguard.corrected_error_rate([(0.0, 10), (3600.0, 20), (4200.0, 120)], threshold_per_hour=200.0)
    assert rate["increase"] == 110 and rate["alert"] is True
    assert rate["peak_per_hour"] == pytest.approx(600.0)
    with pytest.raises(ValueError, match="samples"):
        gpuguard.corrected_error_rate([(0.0, 1)])
