use crate::output::{DoctorFormat, FailOn, Format, OutputArgs, count, emit_report, exit_code, print};
use clap::Args;
use gpuguard::doctor::{DoctorOptions, doctor_with_facts};
use gpuguard::probe::kernel_log::XidTally;
use gpuguard::probe::{Host, dev_shm::LoaderShape};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    output: OutputArgs<DoctorFormat>,
    /// GPUs this job expects to see.
    #[arg(long)]
    expect_gpus: Option<u32>,
    /// Where the job writes checkpoints: judged for persistence and free space (GG003).
    #[arg(long, value_name = "PATH")]
    checkpoint_dir: Option<PathBuf>,
    /// NVML library to load instead of libnvidia-ml.so.1 (also $GPUGUARD_NVML_LIBRARY).
    #[arg(long, value_name = "PATH")]
    nvml_library: Option<PathBuf>,
    /// DataLoader num_workers, to size /dev/shm against (with --batch-bytes).
    #[arg(long, requires = "batch_bytes", value_parser = count::<u64>)]
    dataloader_workers: Option<u64>,
    /// Bytes of one collated batch (a number or a quantity such as 8Mi).
    #[arg(long, requires = "dataloader_workers", value_parser = super::parse_bytes)]
    batch_bytes: Option<u64>,
    /// DataLoader prefetch_factor.
    #[arg(long, default_value_t = 2, value_parser = count::<u64>)]
    prefetch_factor: u64,
    /// Inspect the filesystem under DIR instead of this machine (a node's root mounted elsewhere,
    /// an unpacked image): every path, link and boot entry is resolved inside DIR, FIFOs, devices
    /// and files over 16 MiB are skipped with a reason, and NVML is not loaded unless
    /// --nvml-library is given.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
}

pub fn run(a: DoctorArgs) -> std::io::Result<i32> {
    let loader = match (a.dataloader_workers, a.batch_bytes) {
        (Some(num_workers), Some(batch_bytes)) => Some(LoaderShape {
            num_workers,
            batch_bytes,
            prefetch_factor: a.prefetch_factor,
            loaders: 1,
            local_processes: 1,
        }),
        _ => None,
    };
    // The same checks as `gpuguard shm` (a batch of 0 bytes, prefetch 0 with workers): an input
    // error before anything runs, not a dev-shm check quietly skipped.
    if let Some(Err(e)) = loader.as_ref().map(LoaderShape::required_bytes) {
        eprintln!("gpuguard doctor: {e}");
        return Ok(crate::EXIT_ERROR);
    }
    // Paths the user named explicitly: a typo must not quietly inspect an empty tree or fall back
    // to "no NVML" (exit 2, naming the path).
    if !a.root.is_dir() {
        let why = if a.root.exists() { "not a directory" } else { "no such directory" };
        eprintln!("gpuguard doctor: --root {}: {why}", a.root.display());
        return Ok(crate::EXIT_ERROR);
    }
    // A bare name (libnvidia-ml.so.1) is looked up by the dynamic loader; a path must exist.
    if let Some(lib) = a.nvml_library.as_ref().filter(|l| l.components().count() > 1) {
        if !lib.is_file() {
            let why = if lib.exists() { "not a file" } else { "no such file" };
            eprintln!("gpuguard doctor: --nvml-library {}: {why}", lib.display());
            return Ok(crate::EXIT_ERROR);
        }
    }
    let options = DoctorOptions {
        expect_gpus: a.expect_gpus,
        loader,
        checkpoint_dir: a.checkpoint_dir.map(|p| gpuguard::doctor::absolute_path(&p, &a.root)),
        nvml_library: a.nvml_library,
    };
    let mut tally = XidTally::default();
    let (report, facts) = doctor_with_facts(&Host::new(a.root), &options, &mut tally);
    let fail_on = a.output.fail_on_or(FailOn::Error);
    if a.output.format() == Format::Prometheus {
        let families = gpuguard_agent::node_metrics(&tally.scanner.summary(), facts.as_ref(), Some(&report));
        print(&gpuguard::render::prometheus::to_prometheus(&families))?;
        return Ok(exit_code(&report, fail_on));
    }
    emit_report(&report, a.output.format(), fail_on)
}
