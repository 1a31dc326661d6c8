//! `gpuguard agent`: the node agent for fleets. Follows the kernel log for XID events, samples
//! NVML, runs the doctor on an interval, and serves it all on `/metrics` for Prometheus (TLS and
//! basic auth through `--web.config.file`, as node_exporter does).

use clap::Args;
use gpuguard_agent::{Agent, AgentConfig, KernelLog, StartError, WebLimits};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Address to serve /metrics and /healthz on (0.0.0.0:9835 in a pod).
    #[arg(long, default_value = "127.0.0.1:9835", value_name = "ADDR:PORT")]
    listen: String,
    /// Kernel log file to follow, surviving rotation (repeatable). Default: /dev/kmsg when it can
    /// be read, else the first readable of /var/log/kern.log, /var/log/syslog, /var/log/messages.
    #[arg(long, value_name = "FILE")]
    kernel_log: Vec<PathBuf>,
    /// Follow this /dev/kmsg-style device instead of discovering one.
    #[arg(long, value_name = "DEVICE", conflicts_with = "kernel_log")]
    kmsg: Option<PathBuf>,
    /// Count what the followed files already hold, not only lines appended from now on
    /// (/dev/kmsg always replays this boot's ring buffer).
    #[arg(long)]
    from_start: bool,
    /// Seconds between checks of followed files for new lines.
    #[arg(long, default_value_t = 0.25, value_name = "SECONDS", value_parser = seconds)]
    poll_interval: f64,
    /// Seconds between NVML samples (ECC, remapped rows, retired pages, MIG, processes).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = seconds)]
    nvml_interval: f64,
    /// Seconds between doctor runs (0 turns the doctor off).
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS", value_parser = seconds_or_zero)]
    doctor_interval: f64,
    /// NVML library to load instead of libnvidia-ml.so.1 (also $GPUGUARD_NVML_LIBRARY).
    #[arg(long, value_name = "PATH")]
    nvml_library: Option<PathBuf>,
    /// GPUs this node should have (the doctor reports fewer).
    #[arg(long)]
    expect_gpus: Option<u32>,
    /// The node's root filesystem as the agent sees it (`/host` when the host's / is mounted
    /// there in a pod): kernel logs and doctor probes are read under it.
    #[arg(long, default_value = "/", value_name = "DIR")]
    root: PathBuf,
    /// Exporter-toolkit web configuration (the file node_exporter's --web.config.file reads):
    /// TLS with tls_server_config (cert_file, key_file, client_ca_file, client_auth_type) and
    /// basic auth with basic_auth_users (bcrypt hashes).
    #[arg(long = "web.config.file", value_name = "PATH")]
    web_config_file: Option<PathBuf>,
    /// Requests answered at once; more get 503 at once (node_exporter's --web.max-requests).
    #[arg(
        long = "web.max-requests",
        default_value_t = gpuguard_agent::web::DEFAULT_MAX_REQUESTS,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    web_max_requests: u32,
    /// Connections open at once; more get 503 at once.
    #[arg(
        long = "web.max-connections",
        default_value_t = gpuguard_agent::web::DEFAULT_MAX_CONNECTIONS,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    web_max_connections: u32,
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e6 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

fn seconds_or_zero(s: &str) -> Result<f64, String> {
    if s.parse::<f64>() == Ok(0.0) { Ok(0.0) } else { seconds(s) }
}

pub fn run(a: AgentArgs) -> std::io::Result<i32> {
    let mut logs: Vec<KernelLog> = a.kernel_log.into_iter().map(KernelLog::File).collect();
    logs.extend(a.kmsg.map(KernelLog::Kmsg));
    if logs.is_empty() {
        match KernelLog::discover(&a.root) {
            Some(log) => logs.push(log),
            None => eprintln!(
                "gpuguard agent: no readable kernel log under {} (/dev/kmsg needs root or CAP_SYSLOG; /var/log/kern.log the adm group); XID events are not counted and /healthz answers 503 until one is named with --kernel-log or --kmsg",
                a.root.display()
            ),
        }
    }
    let library = a.nvml_library.or_else(|| std::env::var_os("GPUGUARD_NVML_LIBRARY").map(PathBuf::from));
    let config = AgentConfig {
        listen: a.listen,
        kernel_logs: logs,
        from_start: a.from_start,
        poll_interval: Duration::from_secs_f64(a.poll_interval),
        nvml_library: Some(library.unwrap_or_else(|| gpuguard::probe::nvml::DEFAULT_LIBRARY.into())),
        nvml_interval: Duration::from_secs_f64(a.nvml_interval),
        doctor_interval: (a.doctor_interval > 0.0).then(|| Duration::from_secs_f64(a.doctor_interval)),
        root: a.root,
        expect_gpus: a.expect_gpus,
        web_config: a.web_config_file,
        web_limits: WebLimits {
            max_requests: a.web_max_requests as usize,
            max_connections: a.web_max_connections as usize,
            ..WebLimits::default()
        },
    };
    let follows: Vec<String> = config.kernel_logs.iter().map(|l| l.path().display().to_string()).collect();
    let agent = match Agent::start(config.clone()) {
        Ok(agent) => agent,
        Err(e @ (StartError::Bind { .. } | StartError::WebConfig(_) | StartError::Spawn(_))) => {
            eprintln!("gpuguard agent: {e}");
            return Ok(crate::EXIT_ERROR);
        }
    };
    // The agent is the whole process: Ctrl-C and SIGTERM end it (under `python -m gpuguard`
    // Python's own SIGINT handler would otherwise swallow Ctrl-C while Rust runs).
    // SAFETY: restoring default dispositions has no preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
    eprintln!(
        "gpuguard agent: serving {}; following {}",
        agent.metrics_url(),
        if follows.is_empty() { "no kernel log".into() } else { follows.join(", ") }
    );
    agent.wait();
    Ok(crate::EXIT_OK)
}
