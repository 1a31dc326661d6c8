//! One file per subcommand: its arguments (clap) and its `run`, which returns the exit code.

pub mod agent;
pub mod checkpoint;
pub mod doctor;
pub mod explain;
mod explain_xid;
pub mod footguns;
pub mod lint;
pub mod shm;
pub mod xid;

/// Parses a byte size given as a plain number or a Kubernetes quantity (`8388608`, `8Mi`, `1.5Gi`).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let q = gpuguard::Quantity::parse(s).map_err(|e| e.to_string())?;
    q.to_bytes()
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| format!("{s:?} is not a byte size that fits in 64 bits"))
}
