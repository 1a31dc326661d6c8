//! The agent end to end in-process: a followed file across both kinds of rotation, NVML through
//! the stand-in library with a counter that climbs between samples, and the HTTP side scraped
//! over a real loopback socket, including clients that connect and never speak.

use gpuguard_agent::{Agent, AgentConfig, KernelLog};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

fn config(logs: Vec<KernelLog>) -> AgentConfig {
    AgentConfig {
        listen: "127.0.0.1:0".into(),
        kernel_logs: logs,
        poll_interval: Duration::from_millis(20),
        nvml_library: None,
        doctor_interval: None,
        ..Default::default()
    }
}

fn get(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}

fn scrape(addr: SocketAddr) -> String {
    let answer = get(addr, "GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Content-Type: text/plain; version=0.0.4"), "{answer}");
    answer.split_once("\r\n\r\n").expect("body").1.to_owned()
}

/// The value of the sample whose name and labels start with `series`, if any.
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

/// Polls the agent until `series` has `want`, or fails after a few seconds.
fn wait_for(agent: &Agent, series: &str, want: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = scrape(agent.addr());
        if value(&page, series) == Some(want) {
            return page;
        }
        assert!(Instant::now() < deadline, "{series} never reached {want}; last page:\n{page}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open")
        .write_all(text.as_bytes())
        .expect("append");
}

const XID48: &str = "Nov 28 10:00:01 gpu-7 kernel: [ 812.101] NVRM: Xid (PCI:0000:3b:00): 48, pid=2211, name=python, An uncorrectable double bit error (DBE) has been detected on GPU.\n";
const XID79: &str = "Nov 28 10:05:00 gpu-7 kernel: [1101.5] NVRM: Xid (PCI:0000:86:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n";
const XID13: &str = "[ 99.0] NVRM: Xid (PCI:0000:3b:00): 13, pid=77, name=train.py, Graphics SM Warp Exception on (GPC 1, TPC 0, SM 0): Out Of Range Address\n";

#[test]
fn counts_xids_across_rename_and_truncate_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("kern.log");
    std::fs::write(&log, XID13).expect("write"); // before the agent: not counted (no --from-start)
    let agent = Agent::start(config(vec![KernelLog::File(log.clone())])).expect("start");
    let xid48 = r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48""#;
    let xid79 = r#"gpuguard_xid_events_total{gpu="0000:86:00",xid="79""#;
    std::thread::sleep(Duration::from_millis(100));

    // A line written in two pieces is one line.
    let (head, tail) = XID48.split_at(40);
    append(&log, head);
    std::thread::sleep(Duration::from_millis(60));
    append(&log, tail);
    wait_for(&agent, xid48, 1.0);

    // logrotate's default: rename, then a new file under the path. Lines written to the old
    // file just before the switch still count.
    std::fs::rename(&log, dir.path().join("kern.log.1")).expect("rename");
    append(&dir.path().join("kern.log.1"), XID48);
    append(&log, XID79);
    wait_for(&agent, xid48, 2.0);
    let page = wait_for(&agent, xid79, 1.0);
    assert_eq!(value(&page, "gpuguard_kernel_log_rotations_total"), Some(1.0));

    // copytruncate: the same file emptied in place, then written again.
    std::fs::OpenOptions::new().write(true).truncate(true).open(&log).expect("truncate");
    std::thread::sleep(Duration::from_millis(100));
    append(&log, XID79);
    let page = wait_for(&agent, xid79, 2.0);
    assert_eq!(value(&page, "gpuguard_kernel_log_rotations_total"), Some(2.0));
    assert_eq!(
        value(&page, r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="13""#),
        None,
        "the line from before the start counted"
    );
    assert_eq!(value(&page, "gpuguard_kernel_log_up"), Some(1.0));
    assert_eq!(value(&page, "gpuguard_nvml_up"), Some(0.0));
    agent.stop();
}

#[test]
fn from_start_counts_what_the_file_holds_and_a_missing_file_is_reported_then_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = dir.path().join("old.log");
    std::fs::write(&old, format!("{XID13}{XID13}")).expect("write");
    let later = dir.path().join("later.log");
    let agent = Agent::start(AgentConfig {
        from_start: true,
        ..config(vec![KernelLog::File(old), KernelLog::File(later.clone())])
    })
    .expect("start");
    wait_for(&agent, r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="13""#, 2.0);
    let missing = format!("gpuguard_kernel_log_up{{source=\"{}\"}}", later.display());
    wait_for(&agent, &missing, 0.0);
    // It appears after the agent started: all of it is new.
    std::fs::write(&later, XID48).expect("write");
    wait_for(&agent, &missing, 1.0);
    wait_for(&agent, r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48""#, 1.0);
    agent.stop();
}

#[test]
fn stuck_scrapers_do_not_stop_log_following_and_extra_clients_get_503() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("kern.log");
    std::fs::write(&log, "").expect("write");
    let agent = Agent::start(config(vec![KernelLog::File(log.clone())])).expect("start");
    // Fill every connection slot with clients that never send a request.
    let idle: Vec<TcpStream> =
        (0..gpuguard_agent::MAX_CONNECTIONS).map(|_| TcpStream::connect(agent.addr()).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(100));
    let answer = get(agent.addr(), "GET /metrics HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    for _ in 0..1000 {
        append(&log, XID48);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while value(&agent.render(), r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48""#) != Some(1000.0) {
        assert!(Instant::now() < deadline, "following stalled while scrapers hung:\n{}", agent.render());
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(idle);
    agent.stop();
}

#[test]
fn http_answers_health_head_and_unknown_paths() {
    let agent = Agent::start(config(vec![])).expect("start");
    let a = agent.addr();
    assert!(get(a, "GET /healthz HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nok\n"));
    let head = get(a, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"), "{head}");
    assert!(get(a, "GET /metrics?name[]=x HTTP/1.1\r\n\r\n").contains("gpuguard_agent_info"));
    assert!(get(a, "GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    assert!(get(a, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    assert!(get(a, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    agent.stop();
}

#[test]
fn nvml_samples_follow_a_climbing_corrected_ecc_count() {
    let Some((_dir, lib)) = common::fake_nvml("ecc") else { return };
    let counts = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(counts.path(), "10").expect("write");
    // The stand-in reads the count from this file on every query (see fake_nvml.c).
    // SAFETY: set before any thread of this test reads the environment; other tests in this
    // binary do not read this variable.
    unsafe { std::env::set_var("FAKE_NVML_CORRECTED_FILE", counts.path()) };
    let agent = Agent::start(AgentConfig {
        nvml_library: Some(lib),
        nvml_interval: Duration::from_millis(50),
        doctor_interval: Some(Duration::from_millis(200)),
        ..config(vec![])
    })
    .expect("start");
    let corrected = r#"gpuguard_ecc_errors_total{gpu="00000000:3B:00.0",type="corrected",scope="volatile"}"#;
    let page = wait_for(&agent, corrected, 10.0);
    assert_eq!(value(&page, "gpuguard_nvml_up"), Some(1.0));
    assert_eq!(value(&page, r#"gpuguard_ecc_retired_pages{gpu="00000000:3B:00.0",cause="dbe"}"#), Some(1.0));
    assert_eq!(value(&page, r#"gpuguard_ecc_pending{gpu="00000000:3B:00.0",what="row_remap"}"#), Some(1.0));
    assert_eq!(value(&page, r#"gpuguard_gpu_processes{gpu="00000000:3B:00.0"}"#), Some(1.0));
    std::fs::write(counts.path(), "250").expect("write");
    wait_for(&agent, corrected, 250.0);
    // The doctor runs with the same library: the double-bit errors are an error finding.
    wait_for(&agent, r#"gpuguard_finding{rule="GG005",severity="error"}"#, 3.0);
    agent.stop();
}
