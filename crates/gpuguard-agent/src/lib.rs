//! `gpuguard_agent`, fleet mode: a node agent that follows the kernel log for XID events,
//! samples NVML and runs the doctor on an interval, and serves all of it to Prometheus on
//! `/metrics` (plus `/healthz` and `/livez`), optionally over TLS with basic auth
//! (`--web.config.file`, exporter-toolkit's format).
//!
//! Threads, so no part can stall another: one follower per kernel log, one sampler (NVML and the
//! doctor: an NVML call on a GPU that is falling off the bus can block for seconds), and the HTTP
//! server on a two-worker tokio runtime (see [`web`]). They share [`AgentState`] behind a mutex
//! held only to add counts or copy them out for a page.
//!
//! The core `gpuguard` crate has no HTTP, TLS or async runtime in its dependency tree: they are
//! all here.

pub mod collector;
pub mod exposition;
mod follow;
mod kmsg;
mod lines;
mod state;
pub mod web;

pub use collector::doctor::finding_metrics;
pub use collector::node_metrics;
pub use collector::nvml::nvml_metrics;
pub use follow::{FileFollower, FollowError, LogState};
pub use kmsg::{KmsgFollower, kmsg_record};
pub use lines::LineAssembler;
pub use state::{AgentState, LogStats, NO_KERNEL_LOG, NvmlSample, unix_now};
pub use web::{WebConfig, WebConfigError, WebLimits};

use gpuguard::doctor::DoctorOptions;
use gpuguard::probe::kernel_log::LogSink;
use gpuguard::probe::{Host, nvml};
use state::lock;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A kernel log to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelLog {
    /// The kernel's ring buffer device (`/dev/kmsg`): records, replayed from the oldest.
    Kmsg(PathBuf),
    /// A log file written by syslog or journald's forwarder (`/var/log/kern.log`…).
    File(PathBuf),
}

impl KernelLog {
    /// The path, for labels and messages.
    pub fn path(&self) -> &std::path::Path {
        match self {
            KernelLog::Kmsg(p) | KernelLog::File(p) => p,
        }
    }

    /// What to follow when nothing is named: `/dev/kmsg` when it can be opened (root or
    /// CAP_SYSLOG), else the first kernel log file under `root` that can be read.
    ///
    /// ```
    /// let none = gpuguard_agent::KernelLog::discover(std::path::Path::new("/nonexistent"));
    /// assert!(none.is_none());
    /// ```
    pub fn discover(root: &std::path::Path) -> Option<KernelLog> {
        let host = Host::new(root);
        let kmsg = host.path("/dev/kmsg");
        if KmsgFollower::open(&kmsg).is_ok() {
            return Some(KernelLog::Kmsg(kmsg));
        }
        gpuguard::probe::kernel_log::SOURCES
            .iter()
            .skip(1)
            .map(|s| host.path(s))
            .find(|p| std::fs::File::open(p).is_ok())
            .map(KernelLog::File)
    }
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Address to serve on (`127.0.0.1:9835`; port 0 picks a free one).
    pub listen: String,
    /// Kernel logs to follow.
    pub kernel_logs: Vec<KernelLog>,
    /// Read files from their start instead of only what is appended from now on.
    pub from_start: bool,
    /// How often files are checked for new lines (/dev/kmsg wakes on new records).
    pub poll_interval: Duration,
    /// NVML library to load (`libnvidia-ml.so.1`); `None` samples no NVML.
    pub nvml_library: Option<PathBuf>,
    /// Time between NVML samples.
    pub nvml_interval: Duration,
    /// Time between doctor runs; `None` never runs it.
    pub doctor_interval: Option<Duration>,
    /// The machine's root as the agent sees it (`/`, or `/host` in a container).
    pub root: PathBuf,
    /// GPUs the node should have (the doctor reports fewer).
    pub expect_gpus: Option<u32>,
    /// An exporter-toolkit web configuration (TLS, basic auth), read at start and again when it
    /// or a certificate or key it names changes.
    pub web_config: Option<PathBuf>,
    /// Bounds of the HTTP server.
    pub web_limits: WebLimits,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            listen: "127.0.0.1:9835".into(),
            kernel_logs: Vec::new(),
            from_start: false,
            poll_interval: Duration::from_millis(250),
            nvml_library: Some(nvml::DEFAULT_LIBRARY.into()),
            nvml_interval: Duration::from_secs(30),
            doctor_interval: Some(Duration::from_secs(300)),
            root: "/".into(),
            expect_gpus: None,
            web_config: None,
            web_limits: WebLimits::default(),
        }
    }
}

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The web configuration, or a certificate or key it names, is unusable.
    #[error("--web.config.file {0}")]
    WebConfig(#[from] WebConfigError),
    /// A thread or the HTTP runtime could not be started.
    #[error("cannot start: {0}")]
    Spawn(#[from] std::io::Error),
}

/// A running agent.
#[derive(Debug)]
pub struct Agent {
    addr: SocketAddr,
    tls: bool,
    state: Arc<Mutex<AgentState>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
    server: tokio::task::JoinHandle<()>,
    shutdown: Arc<tokio::sync::Notify>,
}

/// Sleeps `total` in short steps, returning early (false) when `stop` is set.
fn nap(stop: &AtomicBool, total: Duration) -> bool {
    let until = Instant::now() + total;
    while Instant::now() < until {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
    }
    !stop.load(Ordering::SeqCst)
}

impl Agent {
    /// Reads the web configuration, binds the listening socket and starts every thread. Fails
    /// when the address cannot be bound or the web configuration (or a file it names) is
    /// unusable; a kernel log or NVML that cannot be read, or no kernel log at all, is reported
    /// in the metrics and `/healthz` instead.
    ///
    /// ```
    /// use gpuguard_agent::{Agent, AgentConfig};
    /// use std::io::{Read, Write};
    /// let config = AgentConfig { listen: "127.0.0.1:0".into(), nvml_library: None, doctor_interval: None, ..Default::default() };
    /// let agent = Agent::start(config).unwrap();
    /// let get = |path: &str| {
    ///     let mut s = std::net::TcpStream::connect(agent.addr()).unwrap();
    ///     s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
    ///     let mut answer = String::new();
    ///     s.read_to_string(&mut answer).unwrap();
    ///     answer
    /// };
    /// // Alive, but following no kernel log: not healthy (XIDs go uncounted), and /healthz says why.
    /// assert!(get("/livez").starts_with("HTTP/1.1 200 OK"));
    /// assert!(get("/healthz").starts_with("HTTP/1.1 503"));
    /// agent.stop();
    /// ```
    pub fn start(config: AgentConfig) -> Result<Agent, StartError> {
        let web = match &config.web_config {
            Some(path) => WebConfig::load(path)?,
            None => WebConfig::default(),
        };
        let tls = web.tls.as_ref().map(web::server_config).transpose()?;
        let listener = TcpListener::bind(&config.listen)
            .map_err(|source| StartError::Bind { addr: config.listen.clone(), source })?;
        let addr = listener.local_addr()?;
        let sources: Vec<String> = config.kernel_logs.iter().map(|l| l.path().display().to_string()).collect();
        let state = Arc::new(Mutex::new(AgentState::new(&sources)));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| std::thread::Builder::new().name(name.into()).spawn(f);
        // Each follower reports once it has opened its log (or failed to), so "lines appended
        // after `start` returns are counted" holds even on a busy machine where a thread starts late.
        let (opened, first_polls) = std::sync::mpsc::channel::<()>();
        for (i, log) in config.kernel_logs.iter().enumerate() {
            let (log, state, stop, cfg) = (log.clone(), Arc::clone(&state), Arc::clone(&stop), config.clone());
            let opened = opened.clone();
            threads.push(spawn("gpuguard-follow", Box::new(move || follow(i, &log, &cfg, &state, &stop, opened)))?);
        }
        drop(opened);
        let deadline = Instant::now() + FIRST_POLL_TIMEOUT;
        for _ in &config.kernel_logs {
            // Opens never block (O_NONBLOCK), so this waits for thread start-up only; a log that
            // still has not answered by the deadline is reported by /healthz like any other.
            if first_polls.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_err() {
                break;
            }
        }
        {
            let (state, stop, cfg) = (Arc::clone(&state), Arc::clone(&stop), config.clone());
            threads.push(spawn("gpuguard-sample", Box::new(move || sample(&cfg, &state, &stop)))?);
        }
        // Two workers: enough to move bytes for hundreds of connections; rendering and bcrypt go
        // to the blocking pool.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(16)
            .thread_name("gpuguard-http")
            .enable_all()
            .build()?;
        // A follower that has not gone round its loop for this long is stuck.
        let stale = config.poll_interval * 20 + Duration::from_secs(30);
        let is_tls = tls.is_some();
        let live = web::server::Live::new(config.web_config.clone(), &web, tls, Arc::clone(&state), stale);
        let shutdown = Arc::new(tokio::sync::Notify::new());
        let limits = config.web_limits.clone();
        let server = runtime.spawn(web::server::serve(listener, live, limits, Arc::clone(&shutdown)));
        Ok(Agent { addr, tls: is_tls, state, stop, threads, runtime, server, shutdown })
    }

    /// The address it serves on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of its `/metrics` page (`https://` when the web config turns TLS on).
    pub fn metrics_url(&self) -> String {
        format!("{}://{}/metrics", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// The current `/metrics` page in the Prometheus text format.
    pub fn render(&self) -> String {
        let families = collector::gather(&lock(&self.state));
        exposition::encode(&families, exposition::Format::Prometheus)
    }

    /// Blocks until the agent stops (it runs until the process ends).
    pub fn wait(self) {
        let _ = self.runtime.block_on(self.server);
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Stops every thread and the server, and waits for them.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.shutdown.notify_one();
        // Connections still open are dropped with the runtime.
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// One follower's loop: read what is new, count its XID events, note errors, repeat.
/// How long [`Agent::start`] waits for the log followers' first open.
const FIRST_POLL_TIMEOUT: Duration = Duration::from_secs(5);

fn follow(
    i: usize,
    log: &KernelLog,
    cfg: &AgentConfig,
    state: &Mutex<AgentState>,
    stop: &AtomicBool,
    opened: std::sync::mpsc::Sender<()>,
) {
    let mut opened = Some(opened);
    let name = log.path().display().to_string();
    // Counts what was read: block by block into the shared scanner.
    let count = |block: &[u8]| {
        let mut s = lock(state);
        let next = s.logs[i].next_line;
        let after = s.xid.scan_continued(block, next, &name, &mut |_| {});
        s.logs[i].next_line = after;
    };
    let mut report = |result: Result<(), FollowError>, bytes: u64, rotations: u64, lost: u64| {
        let mut s = lock(state);
        let l = &mut s.logs[i];
        l.bytes = bytes;
        l.rotations = rotations;
        l.lost = lost;
        l.up = result.is_ok();
        l.state = result.as_ref().err().map_or(LogState::Ok, |e| e.state);
        if let Err(e) = result {
            l.errors += 1;
            let msg = e.to_string();
            if l.last_error.as_deref() != Some(msg.as_str()) {
                eprintln!("gpuguard agent: {name}: {msg}");
                l.last_error = Some(msg);
            }
        } else {
            l.last_error = None;
        }
        s.heartbeats[i] = Instant::now();
        drop(s);
        if let Some(tx) = opened.take() {
            let _ = tx.send(());
        }
    };
    match log {
        KernelLog::File(path) => {
            let mut f = FileFollower::new(path, cfg.from_start);
            loop {
                let r = f.poll(&mut |b| count(b));
                report(r, f.bytes, f.rotations, 0);
                if !nap(stop, cfg.poll_interval) {
                    return;
                }
            }
        }
        KernelLog::Kmsg(path) => {
            let mut k: Option<KmsgFollower> = None;
            while !stop.load(Ordering::SeqCst) {
                let r = match &mut k {
                    Some(k) => k.poll(cfg.poll_interval, &mut |b| count(b)),
                    None => KmsgFollower::open(path).map(|opened| k = Some(opened)),
                }
                .map_err(|e| FollowError::io(path, &e));
                let (bytes, lost) = k.as_ref().map_or((0, 0), |k| (k.bytes, k.lost));
                let failed = r.is_err();
                report(r, bytes, 0, lost);
                if failed && !nap(stop, cfg.poll_interval * 4) {
                    return;
                }
            }
        }
    }
}

/// The doctor's report with its GG005 findings and `kernel-log` check taken from the kernel
/// logs the agent follows: the doctor on its own reads /dev/kmsg and /var/log under `--root`,
/// which with `--kernel-log FILE` is not what the agent counts (it said `kernel-log ok` while
/// the followed file held an XID 79). `doctor_xid`: the XID findings the doctor's own read
/// added (its sink's), removed; other findings (NVML's ECC GG005, GG010) are kept.
///
/// ```
/// use gpuguard_agent::{AgentState, KernelLog, with_followed_xids};
/// let state = std::sync::Mutex::new(AgentState::new(&["k.log".into()]));
/// state.lock().unwrap().xid.scan_bytes(b"NVRM: Xid (PCI:0000:3b:00): 79, pid=0, name=x, GPU has fallen off the bus.\n", "k.log", &mut |_| {});
/// let mut report = gpuguard::Report::new("doctor");
/// report.checks.push(gpuguard::Check::new("kernel-log", gpuguard::CheckStatus::Ok, "read /dev/kmsg"));
/// let report = with_followed_xids(report, &[], &[KernelLog::File("k.log".into())], &state);
/// assert_eq!(report.findings[0].rule, "GG005");
/// assert_eq!(report.checks[0].status, gpuguard::CheckStatus::Finding);
/// ```
pub fn with_followed_xids(
    mut report: gpuguard::Report,
    doctor_xid: &[gpuguard::Finding],
    logs: &[KernelLog],
    state: &Mutex<AgentState>,
) -> gpuguard::Report {
    if logs.is_empty() {
        return report;
    }
    let summary = lock(state).xid.summary();
    let findings = gpuguard::xid::xid_findings(&summary);
    report.findings.retain(|f| !doctor_xid.iter().any(|d| d.rule == f.rule && d.message == f.message));
    let other = report.findings.iter().any(|f| f.rule == "GG010");
    let status = if findings.is_empty() && !other { gpuguard::CheckStatus::Ok } else { gpuguard::CheckStatus::Finding };
    let paths: Vec<String> = logs.iter().map(|l| l.path().display().to_string()).collect();
    let reason = format!(
        "XID events from the followed kernel log(s) {}: {} event(s) in {} line(s)",
        paths.join(", "),
        summary.events,
        summary.lines
    );
    match report.checks.iter_mut().find(|c| c.name == "kernel-log") {
        Some(c) => *c = gpuguard::Check::new("kernel-log", status, reason),
        None => report.checks.push(gpuguard::Check::new("kernel-log", status, reason)),
    }
    report.findings.extend(findings);
    report
}

/// The sampler's loop: NVML every `nvml_interval`, the doctor every `doctor_interval`.
fn sample(cfg: &AgentConfig, state: &Mutex<AgentState>, stop: &AtomicBool) {
    let host = Host::new(&cfg.root);
    let options =
        DoctorOptions { expect_gpus: cfg.expect_gpus, nvml_library: cfg.nvml_library.clone(), ..Default::default() };
    let (mut next_nvml, mut next_doctor) = (Instant::now(), Instant::now());
    loop {
        let now = Instant::now();
        if now >= next_nvml {
            next_nvml = now + cfg.nvml_interval;
            let result = cfg.nvml_library.as_ref().map(|lib| nvml::query(lib.as_os_str()));
            let mut s = lock(state);
            s.nvml.samples += 1;
            s.nvml.at = unix_now();
            match result {
                Some(Ok(facts)) => (s.nvml.facts, s.nvml.failure) = (Some(facts), None),
                Some(Err(e)) => (s.nvml.facts, s.nvml.failure) = (None, Some(format!("{e:?}"))),
                None => (s.nvml.facts, s.nvml.failure) = (None, Some("no NVML library configured".into())),
            }
        }
        if let Some(every) = cfg.doctor_interval.filter(|_| now >= next_doctor) {
            next_doctor = now + every;
            let t0 = Instant::now();
            let mut sink = gpuguard::probe::kernel_log::XidLineCounter::default();
            let report = gpuguard::doctor::doctor_with_sink(&host, &options, &mut sink);
            let report = with_followed_xids(report, &sink.findings(), &cfg.kernel_logs, state);
            lock(state).doctor = Some((report, unix_now(), t0.elapsed().as_secs_f64()));
        }
        let wake = next_nvml.min(if cfg.doctor_interval.is_some() { next_doctor } else { next_nvml });
        if !nap(stop, wake.saturating_duration_since(Instant::now()).max(Duration::from_millis(10))) {
            return;
        }
    }
}
