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

/// Parses a byte size as every command does ([`gpuguard::ByteSize`]: `8388608`, `8Mi`, `512m`,
/// `1.5GiB`), for arguments that need only the bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    crate::output::byte_size(s).map(|b| b.bytes())
}
