//! What the agent knows, shared between its threads: XID counts from the followed kernel log,
//! the last NVML sample, the last doctor report. Everything here is bounded: the XID summary
//! by the XID module's own row limit (distinct GPU × code pairs, then `other`), and the rest is
//! replaced, not appended to.

use crate::follow::LogState;
use gpuguard::Report;
use gpuguard::probe::nvml::NvmlFacts;
use gpuguard::xid::XidScanner;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What `/healthz` says when the agent follows no kernel log (none named, none found readable).
pub const NO_KERNEL_LOG: &str = "no kernel log is followed: XID events are not counted; name one with --kernel-log FILE \
     or --kmsg DEVICE (/dev/kmsg needs root or CAP_SYSLOG, /var/log/kern.log the adm group)";

/// Counters of one followed kernel log.
#[derive(Debug, Clone, Default)]
pub struct LogStats {
    /// The path followed.
    pub source: String,
    /// Whether the last attempt to read it worked.
    pub up: bool,
    /// What the path was on the last attempt.
    pub state: LogState,
    /// Bytes read.
    pub bytes: u64,
    /// Rotations seen (files).
    pub rotations: u64,
    /// Records overwritten before they were read (/dev/kmsg).
    pub lost: u64,
    /// Failed reads or opens.
    pub errors: u64,
    /// The last error, for people: logged and said by `/healthz`, not exported (it would be an
    /// unbounded label; [`LogStats::state`] is its bounded summary).
    pub last_error: Option<String>,
    /// Next line number in the followed stream.
    pub next_line: u64,
}

/// The last NVML sample.
#[derive(Debug, Clone, Default)]
pub struct NvmlSample {
    /// Facts, when NVML answered.
    pub facts: Option<NvmlFacts>,
    /// Why it did not.
    pub failure: Option<String>,
    /// Samples taken.
    pub samples: u64,
    /// Unix time of the last sample.
    pub at: f64,
}

/// Counters of the HTTP side, updated by the server without taking the state lock.
#[derive(Debug, Default)]
pub struct WebStats {
    /// Connections accepted and served.
    pub connections: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections answered 503 at once because [`crate::WebLimits::max_connections`] were open.
    pub rejected: AtomicU64,
    /// Connections cut at [`crate::WebLimits::connection_timeout`] (slow or stuck clients).
    pub timed_out: AtomicU64,
    /// Requests answered 503: over [`crate::WebLimits::max_requests`], or past their deadline.
    pub shed: AtomicU64,
}

/// The agent's shared state.
#[derive(Debug)]
pub struct AgentState {
    /// Unix time the agent started.
    pub started: f64,
    /// XID events from the followed logs.
    pub xid: XidScanner,
    /// One per followed log.
    pub logs: Vec<LogStats>,
    /// The last NVML sample.
    pub nvml: NvmlSample,
    /// The last doctor report, with its Unix time and duration in seconds.
    pub doctor: Option<(Report, f64, f64)>,
    /// When each follower last went round its loop (for `/healthz`).
    pub heartbeats: Vec<Instant>,
    /// The HTTP server's counters.
    pub web: Arc<WebStats>,
}

/// Locks the shared state; a thread that panicked while holding it left counters, which are
/// still worth serving.
pub(crate) fn lock(state: &Mutex<AgentState>) -> MutexGuard<'_, AgentState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl AgentState {
    /// A fresh state for `sources` (the followed logs).
    pub fn new(sources: &[String]) -> Self {
        AgentState {
            started: unix_now(),
            xid: XidScanner::new(),
            // Counted as up until the first poll says otherwise (milliseconds after the start).
            logs: sources
                .iter()
                .map(|s| LogStats { source: s.clone(), up: true, next_line: 1, ..Default::default() })
                .collect(),
            nvml: NvmlSample::default(),
            doctor: None,
            heartbeats: vec![Instant::now(); sources.len()],
            web: Arc::default(),
        }
    }

    /// Followers that have not gone round their loop for longer than `stale` (stuck on a read):
    /// what `/livez` reports, since restarting the agent is the fix.
    pub fn stuck(&self, stale: Duration) -> Vec<String> {
        self.heartbeats
            .iter()
            .zip(&self.logs)
            .filter(|(h, _)| h.elapsed() > stale)
            .map(|(h, l)| format!("the follower of {} has not run for {:.0} s", l.source, h.elapsed().as_secs_f64()))
            .collect()
    }

    /// Everything `/healthz` reports: stuck followers, followed paths that cannot be read now
    /// (missing, not a regular file, unreadable), each with its reason, and no kernel log
    /// followed at all (an agent blind to XIDs is not healthy, only alive). Empty when healthy.
    ///
    /// ```
    /// let mut s = gpuguard_agent::AgentState::new(&["/var/log/kern.log".into()]);
    /// assert!(s.problems(std::time::Duration::from_secs(30)).is_empty());
    /// s.logs[0].up = false;
    /// s.logs[0].last_error = Some("/var/log/kern.log: is a FIFO, not a regular file: not followed".into());
    /// assert_eq!(s.problems(std::time::Duration::from_secs(30)), ["kernel log /var/log/kern.log: is a FIFO, not a regular file: not followed"]);
    /// let blind = gpuguard_agent::AgentState::new(&[]);
    /// assert!(blind.problems(std::time::Duration::from_secs(30))[0].starts_with("no kernel log is followed"));
    /// ```
    pub fn problems(&self, stale: Duration) -> Vec<String> {
        let mut out = self.stuck(stale);
        if self.logs.is_empty() {
            out.push(NO_KERNEL_LOG.to_owned());
        }
        for l in self.logs.iter().filter(|l| !l.up) {
            let why = l.last_error.as_deref().unwrap_or("not read yet");
            let why = why.strip_prefix(l.source.as_str()).map_or(why, |w| w.trim_start_matches(": "));
            out.push(format!("kernel log {}: {why}", l.source));
        }
        out
    }
}
