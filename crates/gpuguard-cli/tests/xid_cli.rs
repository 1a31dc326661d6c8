//! `gpuguard xid` end to end on public-shaped logs: the Prometheus text promtool accepts (one
//! series per GPU and code, no severity label), and what an empty or unreadable-as-log input says.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gpuguard");

fn public() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpuguard/tests/fixtures/xid-public")
}

fn xid(args: &[&str]) -> Output {
    Command::new(BIN).arg("xid").args(args).output().expect("run gpuguard xid")
}

/// Several machines' logs in one directory (two share a bus id): promtool accepts the text, no
/// two samples share a label set, and no series carries a severity.
#[test]
fn prometheus_of_many_hosts_is_valid_and_stable() {
    let out = xid(&["--format", "prometheus", public().to_str().expect("utf-8 path")]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("gpuguard_xid_events_total{gpu=\"0000:3b:00\",xid=\"48\",category=\"memory-ecc\"}"),
        "{text}"
    );
    let samples: Vec<&str> =
        text.lines().filter(|l| !l.starts_with('#')).map(|l| l.rsplit_once(' ').map_or(l, |(k, _)| k)).collect();
    let mut unique = samples.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), samples.len(), "duplicate series in {text}");
    assert!(!text.lines().any(|l| l.starts_with("gpuguard_xid") && l.contains("severity=")), "{text}");
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
            let o = child.wait_with_output().expect("promtool");
            assert!(
                o.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Err(e) => eprintln!("promtool check not run: promtool not installed ({e})"),
    }
}

/// Nothing to report is said, with what was read: never a silent exit 0.
#[test]
fn empty_null_and_binary_inputs_say_what_was_read() {
    let d = tempfile::tempdir().expect("tempdir");
    let empty = d.path().join("empty.log");
    std::fs::write(&empty, "").expect("write");
    let out = xid(&[empty.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("no XID event found: read 0 line(s) in 1 input(s)"), "{text}");

    let out = xid(&["/dev/null"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("note: /dev/null: skipped: a character device"), "{text}");
    assert!(text.contains("no XID event found: read 0 line(s) in 0 input(s)"), "{text}");

    let bin = d.path().join("core.bin");
    std::fs::write(&bin, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\nmore\n").expect("write");
    let out = xid(&["--format", "json", bin.to_str().expect("utf-8")]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!((doc["summary"]["events"].as_u64(), doc["summary"]["lines"].as_u64()), (Some(0), Some(2)));
    assert!(doc["summary"]["notes"][0]["message"].as_str().unwrap_or("").contains("looks binary"), "{doc}");
}

/// Stock Ubuntu rsyslog writes each kernel line to kern.log and syslog: `gpuguard xid` and
/// `gpuguard doctor --root` both count the DBE once and say how many copies they dropped; an
/// empty input among several is named.
#[test]
fn rsyslog_copy_counts_once_in_xid_and_doctor_and_empty_input_is_named() {
    let root = tempfile::tempdir().expect("tempdir");
    let log = root.path().join("var/log");
    std::fs::create_dir_all(&log).expect("mkdir");
    let dbe = "Nov 29 10:00:01 gpu-node-7 kernel: [ 4242.100000] NVRM: Xid (PCI:0000:3b:00): 48, pid=2210, name=python, Ch 00000008\n";
    std::fs::write(log.join("kern.log"), dbe).expect("write");
    std::fs::write(log.join("syslog"), dbe).expect("write");
    let empty = root.path().join("empty.log");
    std::fs::write(&empty, "").expect("write");
    let out = xid(&[log.to_str().expect("utf-8"), empty.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("(1 event(s) in the log)") && text.contains("dropped 1 duplicate record(s)"), "{text}");
    assert!(text.contains("empty.log: empty"), "{text}");
    let json = xid(&["--format", "json", log.to_str().expect("utf-8")]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!((doc["summary"]["events"].as_u64(), doc["summary"]["duplicates_dropped"].as_u64()), (Some(1), Some(1)));
    let doctor = Command::new(BIN).args(["doctor", "--root"]).arg(root.path()).output().expect("run doctor");
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(text.contains("XID 48") && text.contains("seen 1 time(s)"), "{text}");
}

/// No input and stdin a terminal: an error naming what to give (as `gpuguard lint`), not a
/// silent wait. `script` gives the command a real pseudo-terminal.
#[test]
fn no_input_on_a_terminal_is_an_error() {
    let out = Command::new("script")
        .args(["-qec", &format!("{BIN} xid"), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs the command on a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("give files or directories, or `-` to read stdin"), "{text}");
    assert_eq!(out.status.code(), Some(2), "{text}");
}

/// The shipped alert rules page on what `gpuguard xid` judges: every catalog code judged an
/// error pages (critical) unless its action is restart-app, whose codes open a ticket
/// (warning) instead, and the regexes list exactly those codes.
#[test]
fn alert_rules_match_the_catalog() {
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes/prometheus-rules.yaml"),
    )
    .expect("read prometheus-rules.yaml");
    let list = |after: &str| -> Vec<u32> {
        let at = rules.find(after).unwrap_or_else(|| panic!("{after} not in the rules")) + after.len();
        let end = rules[at..].find('"').expect("closing quote") + at;
        let mut v: Vec<u32> = rules[at..end].split('|').map(|c| c.parse().expect("a code")).collect();
        v.sort_unstable();
        v
    };
    let paged_except = list("expr: gpuguard_xid_fatal_events_total{xid!~\"");
    let ticket = list("expr: gpuguard_xid_fatal_events_total{xid=~\"");
    let mut app_errors: Vec<u32> = gpuguard::xid::known_xids()
        .iter()
        .filter(|i| i.severity == gpuguard::Severity::Error && i.action.as_str() == "restart-app")
        .map(|i| i.code)
        .collect();
    app_errors.sort_unstable();
    assert_eq!(paged_except, app_errors);
    assert_eq!(ticket, app_errors);
    // The codes the trial found missing or wrong: 74, 119, 120 page; 94 does not.
    for (code, pages) in [(74, true), (119, true), (120, true), (48, true), (79, true), (94, false)] {
        let i = gpuguard::xid::classify_xid(code);
        assert_eq!(i.severity == gpuguard::Severity::Error && !app_errors.contains(&code), pages, "XID {code}");
    }
}
