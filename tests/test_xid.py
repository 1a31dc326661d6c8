"""XID classification, parsing and scanning from Python and the `gpuguard xid` command."""

import gzip
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time

import pytest

import gpuguard

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "crates/gpuguard/tests/fixtures/xid"
ECC = FIXTURES.parent / "ecc"
FIELD = FIXTURES.parent / "xid-field"
FORMATS = FIXTURES.parent / "xid-formats"
PUBLIC = FIXTURES.parent / "xid-public"


def test_classify_known_and_unknown():
    dbe = gpuguard.classify_xid(48)
    assert (dbe.code, dbe.category, dbe.severity, dbe.action) == (48, "memory-ecc", "error", "drain-and-replace")
    assert gpuguard.classify_xid(63).action == "reset-gpu"  # a remap heals; the driver asks for a reset
    assert gpuguard.classify_xid(64).action == "drain-and-replace"
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
        (10, 48, "0000:3b:00", None, 2210, "2026-03-02T10:00:00"),
    ]
    # Line 3 ("NVRM: GPU 0000:01:00.0: GPU has fallen off the bus.") is not an XID event.
    # The lines come from different machines that all have a GPU at 0000:01:00: each machine's GPU
    # gets its own verdict (one machine's fallen-off GPU must not decide another's).
    assert [e.host for e in scan.events[:4]] == [None, "balrog", "h", "alex"]
    verdicts = {(v["host"], v["gpu"]): (v["root_xid"], v["action"]) for v in scan.summary["verdicts"]}
    assert verdicts[("balrog", "0000:01:00")] == (79, "reboot-node")
    assert verdicts[("h", "0000:01:00")] == (94, "restart-app")
    assert verdicts[("dev", "0000:01:00")] == (119, "reset-gpu")
    assert verdicts[(None, "0000:3b:00")] == (48, "drain-and-replace")


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
    # The directory holds logs of three machines and logs that name none: dmesg.log's 0000:3b:00
    # (no machine named) is judged apart from gpu-node-7's (kern.log). Several files name no
    # machine (dmesg.log, dmesg-T.log, kmsg.txt), and which is whose is unknown, so each is shown
    # by its file.
    verdict = {(v["host"], v["gpu"]): v for v in scan.summary["verdicts"]}
    assert verdict[(str(FIXTURES / "dmesg.log"), "0000:3b:00")]["root_xid"] == 48
    assert verdict[("gpu-node-7", "0000:3b:00")]["root_xid"] == 119
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
    assert clean.returncode == 0 and "no XID event found: read" in clean.stdout
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
    # No severity label: it would say "error" for a Nonfatal 145 (the fatal/nonfatal families count that).
    assert 'gpuguard_xid_events_total{gpu="0000:3b:00",xid="48",category="memory-ecc"} 1' in r.stdout
    assert "severity=" not in "".join(line for line in r.stdout.splitlines() if line.startswith("gpuguard_xid"))
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


def test_field_cases():
    """The four field cases, with the answers in shared/field-cases/README.md."""
    nvlink = gpuguard.scan_xid(FIELD / "nvlink_nonfatal_145.log")
    assert [(e.xid, e.severity, e.action, e.verdict_words) for e in nvlink.events] == [
        (145, "warning", "none", "Nonfatal"),
        (145, "error", "reset-gpu", "Fatal"),
    ]
    (v,) = nvlink.summary["verdicts"]
    assert (v["root_xid"], v["action"], v["severity"]) == (145, "reset-gpu", "error")
    assert v["decided_by"].endswith("nvlink_nonfatal_145.log:2")

    talos = gpuguard.scan_xid(FIELD / "talos_rfc3339_followons.log")
    assert [(e.xid, e.timestamp, e.follow_on) for e in talos.events] == [
        (45, "2026-03-14T08:02:11.1002003Z", True),
        (45, "2026-03-14T08:02:11.1003004Z", True),
        (74, "2026-03-14T08:02:11.1004005Z", False),
        (154, "2026-03-14T08:02:11.19Z", True),
    ]
    (v,) = talos.summary["verdicts"]
    assert (v["root_xid"], v["action"], v["driver_action"]) == (74, "reset-gpu", "reset-gpu")

    assert len(gpuguard.scan_xid(FIELD / "api_mismatch_dmesg.log")) == 0

    forged = gpuguard.scan_xid(FIELD / "forged_userspace.log")
    assert [e.xid for e in forged.events] == [31]
    ignored = forged.summary["ignored"]
    assert ignored["lines"] == 2
    assert [(x["line"], x["writer"]) for x in ignored["examples"]] == [(2, "someuser[51234]"), (3, "python3[51240]")]
    assert all("not the kernel" in x["reason"] for x in ignored["examples"])


def test_api_mismatch_gg010_from_doctor_without_nvml(run_cli, tmp_path):
    (tmp_path / "var/log").mkdir(parents=True)
    shutil.copy(FIELD / "api_mismatch_dmesg.log", tmp_path / "var/log/kern.log")
    r = run_cli("doctor", "--root", str(tmp_path), "--format", "json")
    doc = json.loads(r.stdout)
    gg010 = [f for f in doc["findings"] if f["rule"] == "GG010"]
    assert gg010, doc["findings"]
    f = gg010[0]
    assert f["severity"] == "error" and "550.90.12" in f["message"] and "550.90.07" in f["message"]
    assert "Reboot" in f["fix"] and "reinstall" in f["fix"]
    assert r.returncode == 1


def test_every_timestamp_format_from_the_cli(run_cli):
    r = run_cli("xid", "--format", "json", "--fail-on", "never", str(FORMATS))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    stamps = {(pathlib.Path(e["file"]).name, e["xid"]): e["timestamp"] for e in doc["events"]}
    assert stamps[("talos-dmesg.log", 79)] == "2026-03-14T08:02:11.123456789Z"
    assert stamps[("dmesg-time-format-iso.log", 79)] == "2026-03-14T08:02:11.1002+01:00"
    assert stamps[("journalctl-json.log", 94)] == "2026-03-14T08:02:11.1002Z"
    assert stamps[("rfc5424.log", 43)] == "2026-03-14T08:02:13.5+02:00"
    assert stamps[("journalctl-short-iso.log", 31)] == "2026-03-14T08:02:11+00:00"
    assert stamps[("journalctl-short-full.log", 79)] == "2026-03-14T08:02:11Z"
    assert stamps[("journalctl-short-unix.log", 48)] == "2026-03-14T08:02:11.1002Z"
    assert stamps[("log-shippers-json.log", 13)] == "2026-03-14T08:02:16.25Z"  # Cloud Logging's jsonPayload
    # short-full's user-space line is one of them; log-shippers-json.log holds 3 (a container's
    # stdout, a user-space line inside Loki's record, a node-problem-detector report)
    assert doc["summary"]["ignored"]["lines"] == 9
    # journalctl -o json from stdin, the way people pipe it.
    r = run_cli("xid", "--format", "json", "-", input=(FORMATS / "journalctl-json.log").read_text())
    assert [e["xid"] for e in json.loads(r.stdout)["events"]] == [94, 45]


def _settled_log(path, head_events, filler_bytes, tail_events):
    line = b"[ 1.0] NVRM: Xid (PCI:0000:01:00): 13, pid=7, name=python3, Graphics SM Warp Exception\n"
    filler = b"Mar 14 08:02:11 node kernel: eth0: link up, 25Gbps, full duplex, flow control rx/tx\n" * 1024
    with open(path, "wb") as f:
        f.write(line * head_events)
        written = 0
        while written < filler_bytes:
            f.write(filler)
            written += len(filler)
        f.write(line.replace(b" 13,", b" 79,") * tail_events)
    old = time.time() - 600  # settled: gpuguard maps it
    os.utime(path, (old, old))
    return len(line)


def test_truncated_during_scan_cli(run_cli, tmp_path):
    """A settled log truncated while `gpuguard xid` scans it (mapped): no SIGBUS, the events read
    so far and a note. The scan is held mid-way by not reading its output (the pipe fills)."""
    log = tmp_path / "kern.log"
    line_len = _settled_log(log, 20_000, 16 << 20, 500)
    exe = shutil.which("gpuguard")
    p = subprocess.Popen([exe, "xid", "--format", "json", "--fail-on", "never", str(log)], stdout=subprocess.PIPE)
    try:
        maps = pathlib.Path(f"/proc/{p.pid}/maps")
        deadline = time.time() + 60
        while str(log) not in maps.read_text() and time.time() < deadline:
            time.sleep(0.01)
        assert str(log) in maps.read_text(), "the log was never mapped"
        time.sleep(0.5)  # the writer is now blocked on the full pipe, the window still mapped
        cut = 10_000 * line_len  # inside the head events, well past what was written out
        os.truncate(log, cut)
        out, _ = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 0, f"killed by signal {-p.returncode}" if p.returncode < 0 else p.returncode
    doc = json.loads(out)
    xids = [e["xid"] for e in doc["events"]]
    assert 79 not in xids and 0 < len(xids) <= cut // line_len + 1
    assert any("truncated" in n["message"] for n in doc["summary"]["notes"]), doc["summary"]["notes"]


def test_truncated_during_scan_in_process(tmp_path):
    """The same from the Python host: scan_xid in a thread (GIL released) while the main thread
    truncates the file as soon as it is mapped. This process must survive."""
    log = tmp_path / "kern.log"
    line_len = _settled_log(log, 50_000, 48 << 20, 500)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("scan", gpuguard.scan_xid(log)))
    t.start()
    maps = pathlib.Path("/proc/self/maps")
    while t.is_alive() and str(log) not in maps.read_text():
        pass
    os.truncate(log, 1000 * line_len)
    t.join(timeout=120)
    scan = result["scan"]
    xids = [e.xid for e in scan.events]
    if len(xids) < 50_500:  # the truncation landed inside the scan (the usual case)
        assert 79 not in xids
        assert any("truncated" in n["message"] or "shrank" in n["message"] for n in scan.summary["notes"])


def test_summary_memory_bounded_for_300k_codes(tmp_path):
    """300,000 distinct codes in one log: the CLI's peak memory stays under 64 MiB."""
    log = tmp_path / "codes.log"
    with open(log, "w") as f:
        for code in range(300_000):
            f.write(f"[ 1.0] NVRM: Xid (PCI:0000:{code % 16:02x}:00): {code}, pid=1, name=p, x\n")
    exe = shutil.which("gpuguard")
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, exe, "xid", "--format", "json", "--fail-on", "never", str(log)],
        capture_output=True, text=True, timeout=300,
    )
    rc, kib = map(int, out.stdout.split())
    assert rc == 0, out.stderr
    assert kib < 64 * 1024, f"peak RSS {kib} KiB"


def well_formed(html):
    """The HTML parses as XML (every tag closed, every entity valid); returns its text."""
    import xml.etree.ElementTree as ET

    return "".join(ET.fromstring(html).itertext())


def test_xid_info_html_has_key_fields_escaped_and_readable_in_dark_themes():
    info = gpuguard.classify_xid(48)
    html = info._repr_html_()
    text = well_formed(html)
    for field in ("XID 48", info.name, info.mnemonic, info.meaning, info.category, info.severity, info.action):
        assert field in text, field
    assert info.advice in text
    # The reset-gpu advice says `nvidia-smi -r -i <gpu>`: escaped in the HTML, intact as text.
    reset = next(i for i in map(gpuguard.classify_xid, range(200)) if i.action == "reset-gpu")
    assert "&lt;gpu&gt;" in reset._repr_html_() and "<gpu>" in well_formed(reset._repr_html_())
    # Dark notebook themes inherit light text: every coloured row sets its own dark text.
    assert html.count("background:") == html.count("color:#1a1a1a") == 1
    unknown = gpuguard.classify_xid(4_000_000)
    assert "not in NVIDIA's XID catalog" in well_formed(unknown._repr_html_())


def test_xid_scan_html_has_verdicts_rows_and_escapes_the_log(tmp_path):
    log = tmp_path / "kern<1>.log"  # a file name with markup in it must not become markup
    log.write_text(
        "Jan  1 00:00:00 node kernel: NVRM: Xid (PCI:0000:3b:00): 31, pid='<unknown>', name=<unknown>, Ch 00000008\n"
        "Jan  1 00:00:05 node kernel: NVRM: Xid (PCI:0000:01:00): 79, pid=1, GPU has fallen off the bus.\n"
    )
    scan = gpuguard.scan_xid(log)
    html = scan._repr_html_()
    text = well_formed(html)
    assert "2 event(s) on 2 GPU(s), 2 line(s) in 1 input(s)" in text
    for v in scan.summary["verdicts"]:
        assert v["gpu"] in text and v["action"] in text and v["message"] in text
    assert "reboot-node" in text and "restart-app" in text
    for row in scan.summary["by_gpu"]:
        assert row["name"] in text and row["first_location"] in text
    assert "kern&lt;1&gt;.log" in html and "kern<1>.log" not in html
    assert html.count("background:") == html.count("color:#1a1a1a") == 4  # 2 verdicts + 2 rows
    # A directory with an unreadable entry lists it.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.log").write_text(
        "NVRM: Xid (PCI:0000:01:00): 13, pid=2, name=python, Graphics SM Warp Exception\n"
    )
    os.mkfifo(tmp_path / "sub" / "fifo<2>")
    listed = well_formed(gpuguard.scan_xid(tmp_path / "sub")._repr_html_())
    assert "fifo<2>" in listed
    assert "0 event(s)" in well_formed(gpuguard.scan_xid("no xid here\n")._repr_html_())


def test_off_bus_without_xid_from_the_cli(run_cli):
    """The driver's probe-time "fallen off the bus" with no XID line: JSON and text both name the GPU."""
    log = str(PUBLIC / "off_bus_without_xid.log")
    doc = json.loads(run_cli("xid", "--format", "json", log).stdout)
    assert [o["gpu"] for o in doc["summary"]["off_bus"]] == ["0000:01:00", "0000:86:00", "0000:b3:00"]
    gone = [f for f in doc["findings"] if f["evidence"].get("off_bus")]
    assert [f["path"] for f in gone] == ["0000:01:00", "0000:b3:00"]
    assert all(f["severity"] == "error" and f["evidence"]["action"] == "reboot-node" for f in gone)
    r = run_cli("xid", log)
    assert r.returncode == 1
    assert "gone from the bus: GPU 0000:b3:00" in r.stdout and "fallen off the bus" in r.stdout
