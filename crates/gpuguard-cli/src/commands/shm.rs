use crate::output::print;
use clap::Args;

#[derive(Debug, Args)]
pub struct ShmArgs {
    /// DataLoader `num_workers`.
    #[arg(long)]
    workers: u64,
    /// Bytes of one collated batch (a number or a quantity such as `8Mi`).
    #[arg(long, value_parser = super::parse_bytes)]
    batch_bytes: u64,
    /// DataLoader `prefetch_factor`.
    #[arg(long, default_value_t = 2)]
    prefetch_factor: u64,
    /// DataLoaders iterating at the same time in one process.
    #[arg(long, default_value_t = 1)]
    loaders: u64,
    /// Training processes on the node (local ranks) sharing /dev/shm.
    #[arg(long, default_value_t = 1)]
    local_processes: u64,
    /// The container's memory limit, to check that the size fits (`32Gi`).
    #[arg(long, value_parser = super::parse_bytes)]
    memory_limit: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ShmArgs) -> std::io::Result<i32> {
    let rec = match gpuguard::shm_recommended_size(
        a.workers,
        a.batch_bytes,
        a.prefetch_factor,
        a.loaders,
        a.local_processes,
        a.memory_limit,
    ) {
        Ok(rec) => rec,
        Err(e) => {
            eprintln!("gpuguard shm: {e}");
            return Ok(crate::EXIT_ERROR);
        }
    };
    if a.json {
        print(
            &serde_json::to_string_pretty(&serde_json::json!({
                "schema": gpuguard::report::SCHEMA_VERSION,
                "recommendation": rec,
                "errors": [],
                "summary": {"required_bytes": rec.required_bytes, "size_limit": rec.quantity},
            }))
            .unwrap_or_default(),
        )?;
    } else {
        print(&format!(
            "required: {} bytes ({})\nsizeLimit: {}\n\n{}\n\nKubernetes:\n  volumes:\n  - name: dshm\n    emptyDir: {{medium: Memory, sizeLimit: {}}}\n  volumeMounts:\n  - {{name: dshm, mountPath: /dev/shm}}\nDocker:\n  --shm-size={}",
            rec.required_bytes,
            gpuguard::math::quantity::human_bytes(rec.required_bytes),
            rec.quantity,
            rec.reasoning,
            rec.quantity,
            rec.size_bytes,
        ))?;
    }
    Ok(crate::EXIT_OK)
}
