import json

import pytest

import gpuguard as gg

LOCATION_KEYS = {"file", "line", "document", "kind", "name", "namespace", "container", "path"}


def test_finding_roundtrip():
    f = gg.Finding("GG001", "error", "/dev/shm is 64.0 MiB", "mount a Memory emptyDir", {"shm_total_bytes": 64 * 2**20}, path="/dev/shm")
    assert f.rule == "GG001" and f.slug == "dev-shm" and f.severity == "error"
    assert f.evidence == {"shm_total_bytes": 64 * 2**20}
    d = f.to_dict()
    assert {"rule", "severity", "message", "fix", "evidence"} | LOCATION_KEYS <= d.keys()
    assert d["path"] == "/dev/shm" and d["line"] is None
    assert json.loads(f.to_json()) == d
    assert "GG001" in repr(f) and "/dev/shm" in repr(f)
    assert "<table>" in f._repr_html_()


def test_finding_rejects_bad_severity():
    with pytest.raises(ValueError, match="severity"):
        gg.Finding("GG001", "fatal", "m", "f")


def test_report_summary_render_and_schema():
    findings = [gg.Finding("GG001", "error", "<shm>", "fix"), gg.Finding("GG004", "warning", "sliced", "use MIG")]
    r = gg.Report("preflight", findings)
    assert len(r) == 2 and not r.ok
    assert r.summary["errors"] == 1 and r.summary["warnings"] == 1
    assert r.fails_at("warning") and r.fails_at("error")
    assert [f.rule for f in r.at_least("error")] == ["GG001"]
    d = r.to_dict()
    assert d["schema"] == 1 and d["command"] == "preflight"
    assert set(d) >= {"findings", "checks", "errors", "summary"}
    assert json.loads(r.to_json(indent=2)) == d
    html = r._repr_html_()
    assert "&lt;shm&gt;" in html and "#fde2e1" in html  # escaped, coloured by severity
    # Dark notebook themes inherit light text: every coloured row sets its own dark text.
    assert html.count("background:") == html.count("color:#1a1a1a") > 0
    assert "| error | GG001 |" in r.to_markdown()
    assert "error[GG001] <shm>" in r.to_text()
    assert "2 error(s)" not in repr(r) and "1 error(s)" in repr(r)
    merged = r.merged(gg.Report("other", [gg.Finding("GG007", "error", "m", "f")]))
    assert len(merged) == 3 and len(r) == 2


def test_catalog():
    fg = gg.footguns()
    assert [f.id for f in fg] == [f"GG{i:03}" for i in range(1, 11)]
    assert gg.footgun("dev-shm").id == "GG001"
    assert "64 MiB" in gg.footgun("GG001").why
    assert "$32/h" in gg.footgun("GG002").why
    with pytest.raises(KeyError):
        gg.footgun("GG011")
    assert fg[4].to_dict()["slug"] == "xid-errors"
