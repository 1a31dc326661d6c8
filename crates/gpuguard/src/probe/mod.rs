//! Read-only probes of the running machine. Every probe reads through [`Host`], whose root is `/`
//! on a real machine and a fixture tree in tests; nothing here writes to the system.

pub mod cgroup;
pub mod container;
pub mod dev_shm;
pub mod driver;
pub mod gpu_devices;
pub mod gpu_env;
pub mod hf_cache;
pub mod kernel_log;
pub mod mounts;
pub mod nvml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The machine being inspected, seen through a root directory, and the environment variables
/// the probes judge (a map, so tests set them without touching the process environment).
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
    env: BTreeMap<String, String>,
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
        self
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

    /// Reads a text file of the inspected machine (`absolute` as seen on it).
    ///
    /// ```
    /// let host = gpuguard::probe::Host::new("/nonexistent");
    /// assert!(host.read("/proc/self/mountinfo").is_err());
    /// ```
    pub fn read(&self, absolute: &str) -> std::io::Result<String> {
        std::fs::read_to_string(self.path(absolute))
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps an absolute path on the inspected machine to where it is read from.
    pub fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }
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
