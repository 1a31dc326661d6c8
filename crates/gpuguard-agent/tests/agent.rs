//! The agent end to end in-process: a followed file across both kinds of rotation, copytruncate
//! with fast regrowth, the path replaced by a device, a FIFO or nothing; NVML through the
//! stand-in library with a counter that climbs between samples; and the HTTP side scraped over
//! real loopback sockets, with 64 slowloris clients holding connections open.
//!
//! Load here goes to 127.0.0.1 only, is bounded in count and time, and stops by itself.

use gpuguard_agent::{Agent, AgentConfig, KernelLog, WebLimits};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

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

/// A kernel log file nothing writes to: the agent follows it and is healthy (an agent following
/// no log at all is not: see `an_agent_that_follows_no_kernel_log_is_alive_but_not_healthy`).
fn quiet_log(dir: &tempfile::TempDir) -> Vec<KernelLog> {
    let path = dir.path().join("kern.log");
    std::fs::write(&path, "").expect("write log");
    vec![KernelLog::File(path)]
}

fn get(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    // A reset after the answer (the server closed with request bytes unread) is not a failure.
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn scrape(addr: SocketAddr) -> String {
    let answer = get(addr, "GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("content-type: text/plain; version=0.0.4"), "{answer}");
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

/// Polls `/healthz` until its answer contains `want`.
fn wait_health(agent: &Agent, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = get(agent.addr(), "GET /healthz HTTP/1.1\r\n\r\n");
        if answer.contains(want) {
            return answer;
        }
        assert!(Instant::now() < deadline, "/healthz never said {want:?}; last answer:\n{answer}");
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

/// copytruncate with a writer that fills the file past its old size at once, 150 times over
/// with the agent polling every 15 ms: every line of every round is counted.
#[test]
fn copytruncate_with_fast_regrowth_loses_no_line_round_after_round() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("kern.log");
    std::fs::write(&log, "").expect("write");
    let agent = Agent::start(AgentConfig {
        poll_interval: Duration::from_millis(15),
        ..config(vec![KernelLog::File(log.clone())])
    })
    .expect("start");
    std::thread::sleep(Duration::from_millis(50));
    let mut lines = 0u64;
    for round in 0..150u64 {
        let mut text = String::new();
        for i in 0..=(round % 5) {
            text.push_str(&format!("r{round} b{i} kernel: NVRM: Xid (PCI:0000:3b:00): 48, pid={round}, DBE\n"));
            lines += 1;
        }
        append(&log, &text);
        wait_for(&agent, "gpuguard_xid_scanned_lines_total", lines as f64);
        // Truncate and regrow past the old size in one go, well inside one poll interval.
        let old = std::fs::metadata(&log).expect("stat").len() as usize;
        let mut regrown = String::new();
        let mut i = 0;
        while regrown.len() <= old {
            regrown.push_str(&format!("r{round} a{i} kernel: NVRM: Xid (PCI:0000:3b:00): 48, pid={i}, DBE again\n"));
            lines += 1;
            i += 1;
        }
        let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(&log).expect("truncate");
        f.write_all(regrown.as_bytes()).expect("regrow");
        drop(f);
    }
    let page = wait_for(&agent, "gpuguard_xid_scanned_lines_total", lines as f64);
    assert_eq!(value(&page, r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48""#), Some(lines as f64));
    assert!(value(&page, "gpuguard_kernel_log_rotations_total").is_some_and(|r| r >= 149.0), "{page}");
    agent.stop();
}

/// The followed path replaced by a device, a FIFO, a symlink loop, or removed: `/healthz` says
/// not ok with the reason, the state metric says which, and following resumes when a regular
/// file is back.
#[test]
fn a_replaced_or_removed_log_shows_in_healthz_and_metrics_and_following_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("kern.log");
    std::fs::write(&log, "").expect("write");
    let agent = Agent::start(config(vec![KernelLog::File(log.clone())])).expect("start");
    let source = log.display().to_string();
    let state = |s: &str| format!(r#"gpuguard_kernel_log_state{{source="{source}",state="{s}"}}"#);
    assert!(wait_health(&agent, "200 OK").ends_with("ok\n"));
    append(&log, XID48);
    wait_for(&agent, r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48""#, 1.0);

    std::fs::remove_file(&log).expect("rm");
    std::os::unix::fs::symlink("/dev/null", &log).expect("symlink");
    let answer = wait_health(&agent, "a character device");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let page = wait_for(&agent, &state("not_regular"), 1.0);
    assert_eq!(value(&page, &format!(r#"gpuguard_kernel_log_up{{source="{source}"}}"#)), Some(0.0));
    assert_eq!(value(&page, &state("ok")), Some(0.0));

    std::fs::remove_file(&log).expect("rm");
    let c = std::ffi::CString::new(source.as_str()).expect("cstring");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    wait_health(&agent, "is a FIFO");
    std::fs::remove_file(&log).expect("rm");
    wait_health(&agent, "missing");
    wait_for(&agent, &state("missing"), 1.0);
    std::os::unix::fs::symlink(&log, &log).expect("loop");
    wait_health(&agent, "cannot be read");
    wait_for(&agent, &state("unreadable"), 1.0);

    // Back: a regular file again, read from its start (it is a new file).
    std::fs::remove_file(&log).expect("rm");
    std::fs::write(&log, XID48).expect("write");
    wait_health(&agent, "200 OK");
    let page = wait_for(&agent, r#"gpuguard_xid_events_total{gpu="0000:3b:00",xid="48""#, 2.0);
    assert_eq!(value(&page, &state("ok")), Some(1.0));
    // The liveness endpoint only cares about stuck threads: it said ok throughout.
    assert!(get(agent.addr(), "GET /livez HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nok\n"));
    agent.stop();
}

/// 64 clients that send one byte every 1.5 s (a request head that never ends) do not delay
/// `/healthz` or `/metrics` by more than a second, and the server cuts each of them at its
/// request deadline (they reconnect, as an attacker would).
#[test]
fn slowloris_clients_do_not_delay_healthz_or_metrics() {
    let limits = WebLimits {
        header_timeout: Duration::from_secs(2),
        connection_timeout: Duration::from_secs(3),
        ..WebLimits::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(AgentConfig { web_limits: limits, ..config(quiet_log(&dir)) }).expect("start");
    let addr = agent.addr();
    const SLOW: usize = 64;
    const RUN: Duration = Duration::from_secs(8);
    let attacker = std::thread::spawn(move || {
        let request = b"GET /metrics HTTP/1.1\r\nHost: node\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let connect = || {
            let s = TcpStream::connect(addr).expect("connect");
            s.set_nonblocking(true).expect("nonblocking");
            (s, 0usize)
        };
        let mut conns: Vec<(TcpStream, usize)> = (0..SLOW).map(|_| connect()).collect();
        let (start, mut cut) = (Instant::now(), 0u32);
        while start.elapsed() < RUN {
            for c in &mut conns {
                // Closed by the server (EOF or reset): count it and come back.
                let closed = match c.0.read(&mut [0u8; 512]) {
                    Ok(_) => true,
                    Err(e) => e.kind() != ErrorKind::WouldBlock,
                };
                if closed || c.0.write(&request[c.1 % request.len()..][..1]).is_err() {
                    cut += 1;
                    *c = connect();
                } else {
                    c.1 += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(1500));
        }
        cut
    });
    std::thread::sleep(Duration::from_millis(300)); // all 64 connected and dribbling
    let (start, mut worst, mut scrapes) = (Instant::now(), Duration::ZERO, 0);
    while start.elapsed() < RUN - Duration::from_millis(500) {
        for path in ["/healthz", "/metrics"] {
            let t = Instant::now();
            let answer = get(addr, &format!("GET {path} HTTP/1.1\r\nHost: node\r\n\r\n"));
            worst = worst.max(t.elapsed());
            scrapes += 1;
            assert!(answer.starts_with("HTTP/1.1 200 OK"), "{path} under slowloris: {answer}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let cut = attacker.join().expect("attacker");
    assert!(worst < Duration::from_secs(1), "slowest answer took {worst:?} ({scrapes} requests)");
    assert!(cut >= SLOW as u32, "only {cut} of {SLOW} slow connections were cut at their deadline");
    // The agent's own metrics show the attack.
    let page = scrape(addr);
    let timed_out = value(&page, "gpuguard_http_connections_timed_out_total").unwrap_or(0.0);
    assert!(timed_out >= SLOW as f64, "gpuguard_http_connections_timed_out_total {timed_out}:\n{page}");
    agent.stop();
}

#[test]
fn connections_past_the_limit_get_503_at_once_and_oversized_heads_431() {
    let limits = WebLimits { max_connections: 4, ..WebLimits::default() };
    let agent = Agent::start(AgentConfig { web_limits: limits, ..config(vec![]) }).expect("start");
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(agent.addr()).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    let answer = get(agent.addr(), "GET /metrics HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(1));
    drop(idle);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(value(&scrape(agent.addr()), "gpuguard_http_connections_rejected_total"), Some(1.0));
    std::thread::sleep(Duration::from_millis(100));
    let big = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(40 << 10));
    let answer = get(agent.addr(), &big);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    agent.stop();
}

/// No kernel log named and none found: the agent is blind to XIDs. `/livez` stays 200 (a restart
/// cannot give a node a kernel log, so no restart loop), `/healthz` answers 503 saying why (the
/// DaemonSet's readiness probe turns the pod NotReady), and the metrics say it as a number.
#[test]
fn an_agent_that_follows_no_kernel_log_is_alive_but_not_healthy() {
    let agent = Agent::start(config(vec![])).expect("start");
    let a = agent.addr();
    let health = get(a, "GET /healthz HTTP/1.1\r\n\r\n");
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    assert!(health.ends_with(&format!("\r\n\r\n{}\n", gpuguard_agent::NO_KERNEL_LOG)), "{health}");
    assert!(health.contains("XID events are not counted") && health.contains("--kernel-log"), "{health}");
    assert!(get(a, "GET /livez HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nok\n"));
    let page = scrape(a);
    assert_eq!(value(&page, "gpuguard_kernel_logs_followed "), Some(0.0), "{page}");
    assert!(!page.contains("gpuguard_kernel_log_up{"), "no per-log series without a log:\n{page}");
    agent.stop();
    // The same agent given a log: healthy, and the count says 1.
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(config(quiet_log(&dir))).expect("start");
    assert!(get(agent.addr(), "GET /healthz HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nok\n"));
    assert_eq!(value(&scrape(agent.addr()), "gpuguard_kernel_logs_followed "), Some(1.0));
    agent.stop();
}

#[test]
fn http_answers_health_head_negotiation_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(config(quiet_log(&dir))).expect("start");
    let a = agent.addr();
    assert!(get(a, "GET /healthz HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nok\n"));
    let head = get(a, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"), "{head}");
    assert!(get(a, "GET /metrics?name[]=x HTTP/1.1\r\n\r\n").contains("gpuguard_agent_info"));
    assert!(get(a, "GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    assert!(get(a, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").starts_with("HTTP/1.1 405"));
    assert!(get(a, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    // Prometheus asks for OpenMetrics first and gets it; curl's */* gets the text format.
    let om = get(
        a,
        "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n\r\n",
    );
    assert!(om.contains("content-type: application/openmetrics-text; version=1.0.0"), "{om}");
    assert!(
        om.contains("# TYPE gpuguard_kernel_log_bytes counter") || om.contains("# TYPE gpuguard_nvml_samples counter")
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    let text = get(a, "GET /metrics HTTP/1.1\r\nAccept: */*\r\n\r\n");
    assert!(text.contains("# TYPE gpuguard_nvml_samples_total counter") && !text.contains("# EOF"), "{text}");
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
fn nvml_samples_follow_a_climbing_corrected_ecc_count() {
    let Some((_dir, lib)) = gpuguard_test_support::fake_nvml("ecc") else { return };
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

/// A changed web config is picked up without a restart (as exporter-toolkit rereads its file),
/// and one that does not load leaves the previous one serving.
#[test]
fn a_changed_web_config_is_reloaded_and_a_broken_one_keeps_the_old() {
    let dir = tempfile::tempdir().expect("tempdir");
    let web = dir.path().join("web.yml");
    let user =
        |password: &str| format!("basic_auth_users:\n  prometheus: {}\n", bcrypt::hash(password, 4).expect("hash"));
    std::fs::write(&web, user("first")).expect("write");
    let agent = Agent::start(AgentConfig { web_config: Some(web.clone()), ..config(vec![]) }).expect("start");
    let status = |password: &str| {
        use base64::Engine;
        let creds = base64::engine::general_purpose::STANDARD.encode(format!("prometheus:{password}"));
        let answer = get(agent.addr(), &format!("GET /metrics HTTP/1.1\r\nAuthorization: Basic {creds}\r\n\r\n"));
        answer.get(9..12).unwrap_or_default().to_owned()
    };
    assert_eq!(status("first"), "200");
    assert_eq!(status("second"), "401");
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&web, user("second") + "# rotated\n").expect("write");
    let deadline = Instant::now() + Duration::from_secs(10);
    while status("second") != "200" {
        assert!(Instant::now() < deadline, "the new password was never accepted");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(status("first"), "401");
    // Broken: the previous configuration keeps serving.
    std::fs::write(&web, "basic_auth_users:\n  prometheus: not-a-hash\n").expect("write");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status("second"), "200");
    agent.stop();
}

/// `--kernel-log FILE`: the doctor's GG005 and its `kernel-log` check come from the file the
/// agent follows, not from /dev/kmsg or /var/log under the root (which hold nothing here): an
/// XID 79 appended to the followed file makes the finding an error and the check a finding.
#[test]
fn the_doctor_judges_the_followed_kernel_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = tempfile::tempdir().expect("empty root");
    let log = dir.path().join("node.log");
    std::fs::write(&log, "").expect("write");
    let agent = Agent::start(AgentConfig {
        root: root.path().to_path_buf(),
        doctor_interval: Some(Duration::from_millis(100)),
        ..config(vec![KernelLog::File(log.clone())])
    })
    .expect("start");
    wait_for(&agent, r#"gpuguard_check_status{check="kernel-log",status="ok"}"#, 1.0);
    std::thread::sleep(Duration::from_millis(100));
    append(&log, XID79);
    wait_for(&agent, r#"gpuguard_finding{rule="GG005",severity="error"}"#, 1.0);
    wait_for(&agent, r#"gpuguard_check_status{check="kernel-log",status="finding"}"#, 1.0);
    agent.stop();
}
