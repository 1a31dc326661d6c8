//! `gpuguard shm`: how much /dev/shm a DataLoader needs, and the sizeLimit / `--shm-size` to set.

use crate::output::{
    FailOn, Format, OutputArgs, ReportFormat, byte_size, count, exit_code, findings_after, flag_error, key_values,
    print, print_json,
};
use clap::Args;
use gpuguard::math::quantity::human_bytes;
use gpuguard::{ByteSize, Finding, Report, Severity, ShmRecommendation};

#[derive(Debug, Args)]
pub struct ShmArgs {
    /// DataLoader `num_workers`.
    #[arg(long, value_parser = count::<u64>)]
    workers: u64,
    /// Bytes of one collated batch: bytes, a Kubernetes quantity (`8Mi`, `64M` = 64,000,000),
    /// Docker's units (`512m` = 512 MiB) or `64MB`, `1.5GiB`. The output says how it was read.
    #[arg(long, value_parser = byte_size, value_name = "SIZE", allow_hyphen_values = true)]
    batch_bytes: ByteSize,
    /// DataLoader `prefetch_factor`.
    #[arg(long, default_value_t = 2, value_parser = count::<u64>)]
    prefetch_factor: u64,
    /// DataLoaders iterating at the same time in one process.
    #[arg(long, default_value_t = 1, value_parser = count::<u64>)]
    loaders: u64,
    /// Training processes on the node (local ranks) sharing /dev/shm.
    #[arg(long, default_value_t = 1, value_parser = count::<u64>)]
    local_processes: u64,
    /// The container's memory limit, to check that the size fits (`32Gi`, `32g`).
    #[arg(long, value_parser = byte_size, value_name = "SIZE", allow_hyphen_values = true)]
    memory_limit: Option<ByteSize>,
    #[command(flatten)]
    output: OutputArgs<ReportFormat>,
}

/// The core's argument names (`gpuguard::shm_recommended_size`) as this command's flags, for its
/// error messages.
const FLAGS: &[(&str, &str)] = &[
    ("num_workers", "--workers"),
    ("batch_bytes", "--batch-bytes"),
    ("prefetch_factor", "--prefetch-factor"),
    ("loaders", "--loaders"),
    ("local_processes", "--local-processes"),
    ("memory_limit_bytes", "--memory-limit"),
];

/// The GG001 finding when the container's memory limit cannot hold the recommended /dev/shm.
fn limit_finding(rec: &ShmRecommendation, limit: &ByteSize) -> Option<Finding> {
    (rec.size_bytes >= limit.bytes()).then(|| {
        Finding::new(
            "GG001",
            Severity::Error,
            format!(
                "the memory limit {} cannot hold {} of /dev/shm besides the process: tmpfs pages count against it",
                limit.as_str(),
                rec.quantity
            ),
            format!("raise the memory limit by at least {}", rec.quantity),
        )
        .with_evidence("memory_limit_bytes", limit.bytes())
        .with_evidence("size_bytes", rec.size_bytes)
    })
}

fn text(a: &ShmArgs, rec: &ShmRecommendation) -> String {
    let mut t = format!("batch: {}\n", a.batch_bytes.reading());
    if let Some(limit) = &a.memory_limit {
        t.push_str(&format!("memory limit: {}\n", limit.reading()));
    }
    t.push_str(&format!(
        "required: {} bytes ({})\nsizeLimit: {}\n\n{}\n\nKubernetes:\n  volumes:\n  - name: dshm\n    emptyDir: {{medium: Memory, sizeLimit: {}}}\n  volumeMounts:\n  - {{name: dshm, mountPath: /dev/shm}}\nDocker:\n  --shm-size={}\n",
        rec.required_bytes,
        human_bytes(rec.required_bytes),
        rec.quantity,
        rec.reasoning,
        rec.quantity,
        rec.docker_shm_size,
    ));
    t
}

fn markdown(a: &ShmArgs, rec: &ShmRecommendation) -> String {
    let mut rows = vec![("batch", a.batch_bytes.reading())];
    rows.extend(a.memory_limit.as_ref().map(|l| ("memory limit", l.reading())));
    rows.push(("required", format!("{} bytes ({})", rec.required_bytes, human_bytes(rec.required_bytes))));
    rows.push(("Kubernetes `sizeLimit`", format!("`{}`", rec.quantity)));
    rows.push(("Docker", format!("`--shm-size={}`", rec.docker_shm_size)));
    format!("## gpuguard shm\n\n{}\n{}\n", key_values(&rows, true), rec.reasoning)
}

fn input_json(b: &ByteSize) -> serde_json::Value {
    serde_json::json!({"text": b.as_str(), "bytes": b.bytes(), "convention": b.convention(), "read_as": b.reading()})
}

pub fn run(a: ShmArgs) -> std::io::Result<i32> {
    let rec = match gpuguard::shm_recommended_size(
        a.workers,
        a.batch_bytes.bytes(),
        a.prefetch_factor,
        a.loaders,
        a.local_processes,
        a.memory_limit.as_ref().map(ByteSize::bytes),
    ) {
        Ok(rec) => rec,
        Err(e) => {
            eprintln!("gpuguard shm: {}", flag_error(&e, FLAGS));
            return Ok(crate::EXIT_ERROR);
        }
    };
    let mut report = Report::new("shm");
    report.findings.extend(a.memory_limit.as_ref().and_then(|l| limit_finding(&rec, l)));
    match a.output.format() {
        Format::Json => print_json(&serde_json::json!({
            "schema": gpuguard::SCHEMA_VERSION,
            "command": "shm",
            "inputs": {
                "batch_bytes": input_json(&a.batch_bytes),
                "memory_limit": a.memory_limit.as_ref().map(input_json),
            },
            "recommendation": rec,
            "findings": report.findings,
            "errors": [],
            "summary": {
                "required_bytes": rec.required_bytes,
                "size_limit": rec.quantity,
                "docker_shm_size": rec.docker_shm_size,
            },
        }))?,
        Format::Markdown => print(&format!("{}{}", markdown(&a, &rec), findings_after(&report, true)))?,
        _ => print(&format!("{}{}", text(&a, &rec), findings_after(&report, false)))?,
    }
    Ok(exit_code(&report, a.output.fail_on_or(FailOn::Error)))
}
