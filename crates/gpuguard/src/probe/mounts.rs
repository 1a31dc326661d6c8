//! Does a path survive the container or the pod? Longest-prefix match of the path in
//! `/proc/self/mountinfo`, then a verdict from the filesystem type and the mount's source path
//! (kubelet puts emptyDir and PVC volumes under recognisable directories).

use super::{Host, statvfs_bytes};
use crate::math::quantity::human_bytes;
use crate::{Check, CheckStatus, Finding, Severity};

/// One line of `/proc/self/mountinfo` (see proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// 1-based line in mountinfo.
    pub line: usize,
    /// Path inside the source filesystem that is mounted (field 4: shows kubelet volume dirs).
    pub root: String,
    /// Where it is mounted (field 5).
    pub mount_point: String,
    /// Filesystem type after the `-` separator (`overlay`, `tmpfs`, `nfs4`…).
    pub fs_type: String,
    /// Mount source (`overlay`, `/dev/nvme0n1p1`, `server:/export`…).
    pub source: String,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text; malformed lines are skipped (the kernel writes it, so they do not occur).
///
/// ```
/// let m = gpuguard::probe::mounts::parse_mountinfo(
///     "36 35 98:0 /mnt1 /mnt/my\\040dir rw,noatime master:1 - ext3 /dev/root rw\n");
/// assert_eq!((m[0].mount_point.as_str(), m[0].fs_type.as_str(), m[0].root.as_str()), ("/mnt/my dir", "ext3", "/mnt1"));
/// ```
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (left, right) = line.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let mut r = right.split(' ');
            Some(Mount {
                line: i + 1,
                root: unescape(f.get(3)?),
                mount_point: unescape(f.get(4)?),
                fs_type: r.next()?.to_owned(),
                source: unescape(r.next().unwrap_or("")),
            })
        })
        .collect()
}

/// The mount holding `path`: the longest mount point that is a whole-component prefix of it;
/// among equal mount points the last one listed (it is on top).
///
/// ```
/// use gpuguard::probe::mounts::{mount_for, parse_mountinfo};
/// let m = parse_mountinfo("1 0 0:1 / / rw - overlay overlay rw\n2 1 0:2 / /data rw - nfs4 srv:/x rw\n");
/// assert_eq!(mount_for(&m, "/data/ckpt").unwrap().fs_type, "nfs4");
/// assert_eq!(mount_for(&m, "/database").unwrap().fs_type, "overlay");
/// ```
pub fn mount_for<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let covers =
        |mp: &str| mp == "/" || path == mp || (path.starts_with(mp) && path.as_bytes().get(mp.len()) == Some(&b'/'));
    mounts.iter().filter(|m| covers(&m.mount_point)).max_by_key(|m| (m.mount_point.len(), m.line))
}

/// How long data written to a mount lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// The container's writable layer (overlay): gone when the container is replaced.
    LostWithContainer,
    /// A kubelet emptyDir: gone when the pod is deleted or rescheduled.
    LostWithPod,
    /// Memory (tmpfs/ramfs): gone when the container, pod or machine stops.
    LostWithMemory,
    /// A volume, network filesystem or disk that outlives the pod.
    Persistent,
    /// A filesystem type gpuguard does not know.
    Unknown,
}

impl Persistence {
    /// Whether data here is lost when the job's container or pod goes away.
    ///
    /// ```
    /// use gpuguard::probe::mounts::Persistence;
    /// assert!(Persistence::LostWithPod.is_ephemeral() && !Persistence::Persistent.is_ephemeral());
    /// ```
    pub fn is_ephemeral(self) -> bool {
        matches!(self, Persistence::LostWithContainer | Persistence::LostWithPod | Persistence::LostWithMemory)
    }
}

const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "lustre",
    "ceph",
    "cephfs",
    "glusterfs",
    "gpfs",
    "beegfs",
    "wekafs",
    "fuse.gcsfuse",
    "fuse.s3fs",
    "fuse.juicefs",
    "fuse.ceph-fuse",
    "fuse.glusterfs",
    "fuse.mountpoint-s3",
    "fuse.blobfuse2",
    "virtiofs",
    "9p",
];
const DISK_FS: &[&str] = &["ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs"];

/// The verdict for one mount and a sentence saying why.
///
/// ```
/// use gpuguard::probe::mounts::{persistence, parse_mountinfo, Persistence};
/// let m = parse_mountinfo("9 1 259:1 /var/lib/kubelet/pods/0d3e/volumes/kubernetes.io~empty-dir/ckpt /ckpt rw - ext4 /dev/nvme0n1p1 rw\n");
/// assert_eq!(persistence(&m[0]).0, Persistence::LostWithPod);
/// ```
pub fn persistence(m: &Mount) -> (Persistence, String) {
    let fs = m.fs_type.as_str();
    let at = format!("{} ({} from {})", m.mount_point, fs, m.source);
    if m.root.contains("/volumes/kubernetes.io~empty-dir/") {
        return (Persistence::LostWithPod, format!("{at} is a Kubernetes emptyDir: deleted with the pod"));
    }
    if matches!(fs, "overlay" | "aufs" | "fuse-overlayfs" | "fuse.fuse-overlayfs") {
        return (
            Persistence::LostWithContainer,
            format!("{at} is the container's writable layer: lost when the container is replaced"),
        );
    }
    if matches!(fs, "tmpfs" | "ramfs") {
        return (
            Persistence::LostWithMemory,
            format!("{at} lives in memory: lost when the container, pod or machine stops"),
        );
    }
    if m.root.contains("/volumes/kubernetes.io~csi/") || m.root.contains("/pvc-") {
        return (Persistence::Persistent, format!("{at} is a Kubernetes persistent volume (CSI)"));
    }
    if NETWORK_FS.contains(&fs) || fs.starts_with("nfs") || fs.starts_with("fuse.") && m.source.contains(':') {
        return (Persistence::Persistent, format!("{at} is a network filesystem: outlives the pod"));
    }
    if DISK_FS.contains(&fs) {
        return (Persistence::Persistent, format!("{at} is a disk filesystem"));
    }
    (Persistence::Unknown, format!("{at}: filesystem type {fs} is not one gpuguard knows"))
}

/// `path` made absolute and cleaned of `.`/`..` (no symlinks are followed: the target may not
/// exist yet, and the fixture root is not the real root).
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `path` itself when it exists under `host`, else its nearest existing ancestor (at worst `/`,
/// never above the root): a directory the job has yet to create lands on that ancestor's mount.
fn nearest_existing(host: &Host, path: &str) -> String {
    let mut p = path.to_owned();
    while p != "/" && !host.path(&p).exists() {
        p = match p.rfind('/') {
            Some(0) | None => "/".to_owned(),
            Some(i) => p[..i].to_owned(),
        };
    }
    p
}

/// Free and total bytes of the filesystem of `path` (an existing path on the inspected machine).
fn free_space(host: &Host, path: &str) -> Option<(u64, u64)> {
    statvfs_bytes(&host.path(path)).ok()
}

/// What a storage check is about: its check name, rule, what the path is for, and how bad it is
/// to lose it.
#[derive(Debug, Clone, Copy)]
pub struct StorageRole {
    /// Check name (`checkpoint-dir`, `hf-cache`).
    pub check: &'static str,
    /// Rule id of the finding.
    pub rule: &'static str,
    /// Severity when the path is ephemeral.
    pub severity: Severity,
    /// What the path holds, for messages ("checkpoint directory").
    pub what: &'static str,
    /// How to fix an ephemeral path.
    pub fix: &'static str,
}

/// Checkpoint directories: losing them loses the training run (GG003).
pub const CHECKPOINT: StorageRole = StorageRole {
    check: "checkpoint-dir",
    rule: "GG003",
    severity: Severity::Error,
    what: "checkpoint directory",
    fix: "write checkpoints to a PersistentVolumeClaim or network filesystem mounted into the pod (or sync them to object storage)",
};

/// Free space below which the checkpoint directory gets a warning: a 7B model's bf16 weights
/// alone are 14 GB, and a checkpoint with optimizer state is several times that.
pub const MIN_CHECKPOINT_FREE_BYTES: u64 = 16 << 30;

/// Judges where `path` lives under `host`: persistence (and, for checkpoints, free space).
///
/// ```
/// use gpuguard::probe::{Host, mounts};
/// let (check, findings) = mounts::check_storage(&Host::new("/nonexistent"), "/ckpt", mounts::CHECKPOINT);
/// assert_eq!(check.status, gpuguard::CheckStatus::Skipped);
/// assert!(findings.is_empty());
/// ```
pub fn check_storage(host: &Host, path: &str, role: StorageRole) -> (Check, Vec<Finding>) {
    let path = normalise(path);
    let mountinfo = match host.read("/proc/self/mountinfo") {
        Ok(t) => t,
        Err(e) => {
            return (
                Check::new(role.check, CheckStatus::Skipped, format!("cannot read /proc/self/mountinfo: {e}")),
                vec![],
            );
        }
    };
    let mounts = parse_mountinfo(&mountinfo);
    let Some(m) = mount_for(&mounts, &path) else {
        return (
            Check::new(role.check, CheckStatus::Skipped, format!("no mount in /proc/self/mountinfo holds {path}")),
            vec![],
        );
    };
    let (verdict, why) = persistence(m);
    let mut findings = Vec::new();
    let existing = nearest_existing(host, &path);
    let mut seen = format!("{path}: {why}");
    if verdict.is_ephemeral() {
        findings.push(
            Finding::new(role.rule, role.severity, format!("{} {path} will not survive: {why}", role.what), role.fix)
                .with_path(path.clone())
                .with_evidence("mount_point", m.mount_point.clone())
                .with_evidence("fs_type", m.fs_type.clone())
                .with_evidence("source", m.source.clone())
                .with_evidence("mount_root", m.root.clone())
                .with_evidence("mountinfo_line", m.line),
        );
    }
    if role.rule == CHECKPOINT.rule {
        if let Some((free, total)) = free_space(host, &existing) {
            seen.push_str(&format!("; {} free of {}", human_bytes(free), human_bytes(total)));
            if free < MIN_CHECKPOINT_FREE_BYTES {
                findings.push(
                    Finding::new(
                        role.rule,
                        Severity::Warning,
                        format!(
                            "{} {path} has only {} free: a checkpoint with optimizer state may not fit",
                            role.what,
                            human_bytes(free)
                        ),
                        "free space or point checkpoints at a larger volume; keep only the last few checkpoints",
                    )
                    .with_path(path.clone())
                    .with_evidence("free_bytes", free)
                    .with_evidence("total_bytes", total)
                    .with_evidence("min_free_bytes", MIN_CHECKPOINT_FREE_BYTES),
                );
            }
        }
    }
    if existing != path {
        // A directory the job creates on first write is normal; the user still needs to know the
        // verdict is about the parent's filesystem (and that a typo would go unnoticed). One
        // finding per path: a note on the verdict already made, else an info finding of its own.
        let note =
            format!("{path} does not exist: the job may create it; judged by its nearest existing parent {existing}");
        seen = format!("{path} does not exist; nearest existing parent {existing}: {why}");
        match findings.first_mut() {
            Some(f) => {
                f.message = format!("{} ({note})", f.message);
                f.evidence.insert("nearest_existing_parent".into(), existing.clone().into());
            }
            None => findings.push(
                Finding::new(
                    role.rule,
                    Severity::Info,
                    format!("{} {note}", role.what),
                    "create the directory, or check the path for a typo",
                )
                .with_path(path.clone())
                .with_evidence("nearest_existing_parent", existing.clone()),
            ),
        }
    }
    let status = if findings.is_empty() { CheckStatus::Ok } else { CheckStatus::Finding };
    (Check::new(role.check, status, seen), findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = "\
2233 1876 0:312 / / rw,relatime master:600 - overlay overlay rw,lowerdir=/var/lib/containerd/l1,upperdir=/var/lib/containerd/u,workdir=/var/lib/containerd/w
2234 2233 0:315 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
2240 2233 0:311 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
2250 2233 259:1 /var/lib/kubelet/pods/7f1c2b9e-1111-4c1e-9c55-3f0b5e7d2a10/volumes/kubernetes.io~empty-dir/scratch /scratch rw,relatime - ext4 /dev/nvme0n1p1 rw
2251 2233 0:55 / /mnt/ckpt rw,relatime - nfs4 10.0.0.5:/exports/pvc-3a7c0f4e-8f61-4ad8-9d1c-4f5a3e0c9b21 rw,vers=4.1
2252 2233 259:7 / /data rw,relatime - ext4 /dev/nvme1n1 rw
2253 2233 0:77 / /models rw,relatime - lustre 10.1.0.2@tcp:/lfs rw
";

    #[test]
    fn verdicts_for_a_pod() {
        let m = parse_mountinfo(POD);
        let v = |p: &str| persistence(mount_for(&m, p).expect("a mount covers it")).0;
        assert_eq!(v("/workspace/ckpt"), Persistence::LostWithContainer);
        assert_eq!(v("/scratch/run1"), Persistence::LostWithPod);
        assert_eq!(v("/dev/shm"), Persistence::LostWithMemory);
        assert_eq!(v("/mnt/ckpt/run1"), Persistence::Persistent);
        assert_eq!(v("/mnt/ckpt2"), Persistence::LostWithContainer);
        assert_eq!(v("/models/llama"), Persistence::Persistent);
        assert_eq!(v("/data"), Persistence::Persistent);
    }

    #[test]
    fn later_mount_on_the_same_point_wins() {
        let m = parse_mountinfo(
            "1 0 0:1 / / rw - overlay overlay rw\n2 1 0:2 / /c rw - tmpfs t rw\n3 1 0:3 / /c rw - nfs s:/e rw\n",
        );
        assert_eq!(mount_for(&m, "/c/x").expect("a mount covers it").line, 3);
    }

    #[test]
    fn normalises_dots() {
        assert_eq!(normalise("/a/./b/../c/"), "/a/c");
        assert_eq!(normalise("/"), "/");
    }
}
