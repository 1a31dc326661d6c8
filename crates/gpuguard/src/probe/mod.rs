//! Read-only probes of the running machine. Every probe reads through [`Host`], whose root is `/`
//! on a real machine and a fixture tree in tests; nothing here writes to the system.

pub mod dev_shm;
pub mod gpu_devices;

use std::path::{Path, PathBuf};

/// The machine being inspected, seen through a root directory.
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
}

impl Default for Host {
    fn default() -> Self {
        Host { root: PathBuf::from("/") }
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
        Host { root: root.into() }
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
