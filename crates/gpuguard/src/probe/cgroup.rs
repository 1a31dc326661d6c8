//! The container's memory limit (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`): pages in
//! /dev/shm are charged to it, so a big /dev/shm cannot be filled past the limit without an OOM kill.

use super::Host;

/// Values at or above this mean "no limit" (cgroup v1 writes 2^63 rounded down to a page).
const UNLIMITED: u64 = 1 << 62;

/// A memory limit and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLimit {
    /// The limit in bytes, `None` when unlimited (`max`).
    pub bytes: Option<u64>,
    /// The file read, as seen on the inspected machine.
    pub file: String,
}

fn parse_limit(text: &str) -> Option<Option<u64>> {
    let t = text.trim();
    if t == "max" {
        return Some(None);
    }
    let v: u64 = t.parse().ok()?;
    Some(if v >= UNLIMITED { None } else { Some(v) })
}

/// The memory limit of the current process's cgroup, v2 first, then v1; `None` when neither
/// hierarchy is readable.
///
/// ```
/// use gpuguard::probe::{Host, cgroup};
/// assert_eq!(cgroup::memory_limit(&Host::new("/nonexistent")), None);
/// ```
pub fn memory_limit(host: &Host) -> Option<MemoryLimit> {
    let own = host.read("/proc/self/cgroup").unwrap_or_default();
    let mut candidates = Vec::new();
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (f.next(), f.next(), f.next()) else { continue };
        let path = path.trim_end_matches('/');
        if controllers.is_empty() {
            candidates.push(format!("/sys/fs/cgroup{path}/memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            candidates.push(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"));
        }
    }
    // Inside a container the cgroup namespace usually makes the own cgroup the root of the mount.
    candidates.push("/sys/fs/cgroup/memory.max".to_owned());
    candidates.push("/sys/fs/cgroup/memory/memory.limit_in_bytes".to_owned());
    candidates.into_iter().find_map(|file| {
        let bytes = parse_limit(&host.read(&file).ok()?)?;
        Some(MemoryLimit { bytes, file })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("test fixture");
        for (p, text) in files {
            let path = d.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(path.parent().expect("test fixture")).expect("test fixture");
            std::fs::write(path, text).expect("test fixture");
        }
        d
    }

    #[test]
    fn v2_own_cgroup_and_max() {
        let d = tree(&[
            ("/proc/self/cgroup", "0::/kubepods.slice/pod1/cri-abc\n"),
            ("/sys/fs/cgroup/kubepods.slice/pod1/cri-abc/memory.max", "17179869184\n"),
        ]);
        let l = memory_limit(&Host::new(d.path())).expect("test fixture");
        assert_eq!(l.bytes, Some(16 << 30));
        assert!(l.file.ends_with("cri-abc/memory.max"));
        let d = tree(&[("/proc/self/cgroup", "0::/\n"), ("/sys/fs/cgroup/memory.max", "max\n")]);
        assert_eq!(memory_limit(&Host::new(d.path())).expect("test fixture").bytes, None);
    }

    #[test]
    fn v1_limit_and_unlimited() {
        let d = tree(&[
            ("/proc/self/cgroup", "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n"),
            ("/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "2147483648\n"),
        ]);
        assert_eq!(memory_limit(&Host::new(d.path())).expect("test fixture").bytes, Some(2 << 30));
        let d = tree(&[
            ("/proc/self/cgroup", "4:memory:/\n"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"),
        ]);
        assert_eq!(memory_limit(&Host::new(d.path())).expect("test fixture").bytes, None);
    }
}
