//! Read-only probes of the running machine. Every probe reads through [`Host`], whose root is `/`
//! on a real machine and a fixture tree in tests; nothing here writes to the system.

pub mod apt_conf;
pub mod auto_updates;
pub mod cgroup;
pub mod container;
pub mod dev_shm;
pub mod driver;
pub mod gpu_devices;
pub mod gpu_env;
pub mod hf_cache;
pub mod kernel_log;
pub mod mounts;
pub mod next_boot;
pub mod nvml;
#[cfg(feature = "nvml")]
mod nvml_query;
pub mod packages;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The machine being inspected, seen through a root directory, and the environment variables
/// the probes judge (a map, so tests set them without touching the process environment).
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
    env: BTreeMap<String, String>,
    /// Whether `env` is this process's own environment (not set by [`Host::with_env`]): under a
    /// fixture root it then says nothing about the inspected tree.
    env_is_process: bool,
}

impl Default for Host {
    fn default() -> Self {
        Host::new("/")
    }
}

impl Host {
    /// A host whose files live under `root` (`/` for the real machine).
    ///
    /// ```
    /// let host = gpuguard::probe::Host::new("/tmp/fixture");
    /// assert_eq!(host.path("/dev/shm"), std::path::Path::new("/tmp/fixture/dev/shm"));
    /// ```
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Host {
            root: root.into(),
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            env_is_process: true,
        }
    }

    /// The same host with exactly the environment `vars` (the process environment is dropped).
    ///
    /// ```
    /// let host = gpuguard::probe::Host::new("/").with_env([("HOME", "/home/me")]);
    /// assert_eq!(host.var("HOME"), Some("/home/me"));
    /// assert_eq!(host.var("PATH"), None);
    /// ```
    pub fn with_env<K: Into<String>, V: Into<String>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.env = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self.env_is_process = false;
        self
    }

    /// Whether the variables are the calling process's own while the files are a tree under
    /// `--root`: the environment then belongs to gpuguard, not to the inspected machine.
    ///
    /// ```
    /// use gpuguard::probe::Host;
    /// assert!(Host::new("/tmp/tree").env_is_foreign());
    /// assert!(!Host::new("/").env_is_foreign());
    /// assert!(!Host::new("/tmp/tree").with_env([("A", "1")]).env_is_foreign());
    /// ```
    pub fn env_is_foreign(&self) -> bool {
        self.env_is_process && !self.is_real_root()
    }

    /// An environment variable as the inspected process sees it.
    ///
    /// ```
    /// let host = gpuguard::probe::Host::default().with_env([("CUDA_VISIBLE_DEVICES", "0")]);
    /// assert_eq!(host.var("CUDA_VISIBLE_DEVICES"), Some("0"));
    /// ```
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// Reads a text file of the inspected machine (`absolute` as seen on it), resolved inside the
    /// root (see [`Host::path`]).
    ///
    /// # Errors
    /// The open or read error; `InvalidInput` naming the kind for anything that is not a regular
    /// file (a FIFO would block the reader forever, a device may never end); `FileTooLarge` past
    /// [`MAX_READ_BYTES`]; `InvalidData` when the text is not UTF-8.
    ///
    /// ```
    /// let host = gpuguard::probe::Host::new("/nonexistent");
    /// assert!(host.read("/proc/self/mountinfo").is_err());
    /// ```
    pub fn read(&self, absolute: &str) -> std::io::Result<String> {
        read_bounded(&self.resolve(absolute)?, MAX_READ_BYTES)
    }

    /// [`Host::path`], but a path that cannot be resolved inside the root is an error.
    ///
    /// # Errors
    /// `InvalidInput` naming the path when following its links inside the root takes more than
    /// 40 links (a loop, such as an absolute link that points at itself inside the tree).
    ///
    /// ```
    /// let host = gpuguard::probe::Host::new("/tmp/fixture");
    /// assert_eq!(host.resolve("/etc/hosts").unwrap(), std::path::Path::new("/tmp/fixture/etc/hosts"));
    /// ```
    pub fn resolve(&self, absolute: &str) -> std::io::Result<PathBuf> {
        if self.is_real_root() {
            return Ok(self.root.join(absolute.trim_start_matches('/')));
        }
        resolve_in_root(&self.root, absolute).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{absolute}: too many levels of symbolic links inside {} (a link loop); not read",
                    self.root.display()
                ),
            )
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this host is the real machine (root `/`), where the kernel resolves paths itself.
    pub fn is_real_root(&self) -> bool {
        self.root == Path::new("/")
    }

    /// Maps an absolute path on the inspected machine to where it is read from. Under a root other
    /// than `/`, symbolic links are followed as a `chroot` would (an absolute target starts again
    /// at the root, `..` stops at the root), so a path built from file contents (a mount point, a
    /// boot entry, a module link) can never lead outside the tree. A link loop, or a part that does
    /// not exist, ends the resolution: the rest is joined as written (and will not be found). A link
    /// loop gives a path that no system call accepts (it holds a NUL byte), so nothing outside the
    /// root, nor the looping link itself, is ever followed by the kernel; [`Host::resolve`] says why.
    ///
    /// ```
    /// let host = gpuguard::probe::Host::new("/tmp/fixture");
    /// assert_eq!(host.path("/dev/shm"), std::path::Path::new("/tmp/fixture/dev/shm"));
    /// assert_eq!(host.path("/../../etc/passwd"), std::path::Path::new("/tmp/fixture/etc/passwd"));
    /// ```
    pub fn path(&self, absolute: &str) -> PathBuf {
        if self.is_real_root() {
            return self.root.join(absolute.trim_start_matches('/'));
        }
        // The NUL byte makes every std::fs call fail with InvalidInput before any system call.
        resolve_in_root(&self.root, absolute).unwrap_or_else(|| self.root.join("\0symlink-loop"))
    }
}

/// The most bytes [`Host::read`] reads from one file (16 MiB): a dpkg status file of a full
/// desktop is about 5 MiB; anything larger under a probe's path is not what the probe expects.
pub const MAX_READ_BYTES: u64 = 16 << 20;

/// Most symbolic links followed while resolving one path (Linux's own limit, MAXSYMLINKS).
const MAX_LINKS: u32 = 40;

/// `absolute` resolved under `root` with chroot semantics (see [`Host::path`]); `None` for a link
/// loop (more than [`MAX_LINKS`] links), whose last link the kernel would follow out of the root.
fn resolve_in_root(root: &Path, absolute: &str) -> Option<PathBuf> {
    // Components still to walk, last first, so a link's target can be pushed in front of the rest.
    let mut todo: Vec<String> = absolute.split('/').rev().filter(|c| !c.is_empty()).map(str::to_owned).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let here = root.join(done.join("/")).join(&c);
        let target = match std::fs::symlink_metadata(&here) {
            // A link whose target cannot be read would be followed by the kernel: refuse it.
            Ok(m) if m.file_type().is_symlink() => Some(std::fs::read_link(&here).ok()?),
            Ok(_) => None,
            Err(_) => {
                // Missing: the rest cannot resolve further; keep it as written, `..` still clamped.
                done.push(c);
                while let Some(c) = todo.pop() {
                    match c.as_str() {
                        "." => {}
                        ".." => {
                            done.pop();
                        }
                        _ => done.push(c),
                    }
                }
                break;
            }
        };
        match target {
            // A loop: stop; the caller must not hand the kernel a path that still holds the link.
            Some(_) if links >= MAX_LINKS => return None,
            Some(t) => {
                links += 1;
                let t = t.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    done.clear();
                }
                todo.extend(t.split('/').rev().filter(|c| !c.is_empty()).map(str::to_owned));
            }
            None => done.push(c),
        }
    }
    Some(root.join(done.join("/")))
}

/// Reads `path` as UTF-8 text, at most `limit` bytes, refusing anything but a regular file. The
/// open is non-blocking so a FIFO with no writer cannot hang it before the type is checked.
///
/// ```
/// let e = gpuguard::probe::read_bounded("/dev/zero".as_ref(), 1024).unwrap_err();
/// assert!(e.to_string().contains("character device"), "{e}");
/// ```
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        let kind = crate::file_kind(&t);
        return Err(Error::new(ErrorKind::InvalidInput, format!("{}: {kind}, not read", path.display())));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::FileTooLarge,
            format!("{}: larger than {} MiB, not read", path.display(), limit >> 20),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::new(ErrorKind::InvalidData, format!("{}: not UTF-8 text", path.display())))
}

/// Free and total bytes of the filesystem holding `path`, from statvfs (`f_bavail`: what an
/// unprivileged writer can use).
#[allow(clippy::unnecessary_cast)]
pub fn statvfs_bytes(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: c_path is a valid NUL-terminated string and st points to writable memory of the
    // right size; statvfs initialises it when it returns 0.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so st is initialised.
    // The field types differ between platforms (u32 on some), hence the casts.
    let st = unsafe { st.assume_init() };
    let frsize = st.f_frsize as u64;
    Ok((st.f_bavail as u64 * frsize, st.f_blocks as u64 * frsize))
}

#[cfg(test)]
mod tests {
    use super::Host;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_resolve_like_a_chroot() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        std::fs::create_dir_all(r.join("usr/lib/modules/6.8.0-49-generic")).expect("mkdir");
        symlink("usr/lib", r.join("lib")).expect("ln");
        // An absolute target starts again at the root, not at the real `/`.
        symlink("/usr/lib/modules/6.8.0-49-generic", r.join("current")).expect("ln");
        // `..` past the root stays at the root.
        symlink("../../../../../../etc", r.join("up")).expect("ln");
        symlink("loop", r.join("loop")).expect("ln");
        let host = Host::new(r);
        assert_eq!(host.path("/lib/modules/6.8.0-49-generic"), r.join("usr/lib/modules/6.8.0-49-generic"));
        assert_eq!(host.path("/current/build"), r.join("usr/lib/modules/6.8.0-49-generic/build"));
        assert_eq!(host.path("/up/passwd"), r.join("etc/passwd"));
        assert_eq!(host.path("/x/../../../y"), r.join("y"));
        // A loop ends the resolution inside the root; reading it fails instead of hanging.
        assert!(host.path("/loop").starts_with(r));
        assert!(host.read("/loop").is_err());
    }

    /// The new-user trial: absolute links that point at themselves inside the tree made the doctor
    /// read the host's own kernel release and os-release.
    #[test]
    fn self_links_never_reach_the_host() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        std::fs::create_dir_all(r.join("proc/sys/kernel")).expect("mkdir");
        std::fs::create_dir_all(r.join("etc")).expect("mkdir");
        symlink("/proc/sys/kernel/osrelease", r.join("proc/sys/kernel/osrelease")).expect("ln");
        symlink("/etc/os-release", r.join("etc/os-release")).expect("ln");
        // A loop in a directory part: the parts after it must not be looked up through it either.
        symlink("/boot", r.join("boot")).expect("ln");
        let host = Host::new(r);
        for p in ["/proc/sys/kernel/osrelease", "/etc/os-release", "/boot/grub/grubenv"] {
            let e = host.read(p).expect_err(p);
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{p}: {e}");
            assert!(e.to_string().contains(p) && e.to_string().contains("loop"), "{e}");
            assert!(!host.path(p).exists(), "{p} must not lead anywhere");
            assert!(std::fs::read_dir(host.path(p)).is_err());
        }
        assert!(std::fs::read_dir(host.path("/boot")).is_err(), "/boot -> /boot is a loop, not the host's /boot");
    }
}
