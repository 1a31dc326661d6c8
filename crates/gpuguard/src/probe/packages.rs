//! What the distribution says about itself: `/etc/os-release`, the packages dpkg installed and
//! holds (`/var/lib/dpkg/status`), and the version order kernels are sorted in.

use super::Host;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The fields of `os-release(5)` the probes use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `ID` (`ubuntu`, `debian`, `rhel`, `rocky`…).
    pub id: String,
    /// `ID_LIKE`, split (`["rhel", "centos", "fedora"]`).
    pub id_like: Vec<String>,
    /// `VERSION_ID` (`22.04`, `12`, `9.4`).
    pub version_id: String,
    /// `PRETTY_NAME`, for messages.
    pub pretty_name: String,
}

/// The package family, which decides the package manager and the fix to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Debian, Ubuntu and derivatives: dpkg and APT.
    Debian,
    /// RHEL, CentOS, Rocky, Alma, Fedora: RPM and DNF (or yum).
    RedHat,
    /// Anything else.
    Other,
}

impl OsRelease {
    /// Parses os-release text (`KEY=value`, values optionally quoted).
    ///
    /// ```
    /// let os = gpuguard::probe::packages::OsRelease::parse("ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n");
    /// assert_eq!(os.family(), gpuguard::probe::packages::Family::RedHat);
    /// assert_eq!(os.version_id, "9.4");
    /// ```
    pub fn parse(text: &str) -> Self {
        let mut os = OsRelease::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else { continue };
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
            match k.trim() {
                "ID" => os.id = v,
                "ID_LIKE" => os.id_like = v.split_whitespace().map(str::to_owned).collect(),
                "VERSION_ID" => os.version_id = v,
                "PRETTY_NAME" => os.pretty_name = v,
                _ => {}
            }
        }
        os
    }

    /// Reads `/etc/os-release`, then `/usr/lib/os-release` (the fallback os-release(5) names).
    pub fn read(host: &Host) -> Option<Self> {
        let text = host.read("/etc/os-release").or_else(|_| host.read("/usr/lib/os-release")).ok()?;
        Some(OsRelease::parse(&text))
    }

    /// The package family from `ID` and `ID_LIKE`.
    pub fn family(&self) -> Family {
        let is = |names: &[&str]| std::iter::once(&self.id).chain(&self.id_like).any(|i| names.contains(&i.as_str()));
        if is(&["debian", "ubuntu"]) {
            Family::Debian
        } else if is(&["rhel", "fedora", "centos"]) {
            Family::RedHat
        } else {
            Family::Other
        }
    }

    /// `PRETTY_NAME`, or `ID VERSION_ID` when it is missing.
    pub fn name(&self) -> String {
        if self.pretty_name.is_empty() { format!("{} {}", self.id, self.version_id) } else { self.pretty_name.clone() }
    }
}

/// One package in dpkg's status database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgPackage {
    /// `Status:`'s first word: `install`, `hold`, `deinstall`, `purge`.
    pub selection: String,
    /// `Status:`'s last word is `installed`.
    pub installed: bool,
    /// `Version:`.
    pub version: String,
}

impl DpkgPackage {
    /// `apt-mark hold` (or `dpkg --set-selections … hold`) was set: APT and unattended-upgrades
    /// keep the package at its version.
    pub fn held(&self) -> bool {
        self.selection == "hold"
    }
}

/// dpkg's view of installed packages, by name (`Package:`; multi-arch copies share one entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dpkg {
    /// Packages by name.
    pub packages: BTreeMap<String, DpkgPackage>,
}

impl Dpkg {
    /// Parses the status file: stanzas of `Field: value` separated by blank lines (deb822). Only
    /// `Package`, `Status` and `Version` are kept; continuation lines are skipped. Linear in input.
    ///
    /// ```
    /// let d = gpuguard::probe::packages::Dpkg::parse("Package: linux-image-generic\nStatus: hold ok installed\nVersion: 6.8.0-49.49\n\nPackage: vim\nStatus: deinstall ok config-files\n");
    /// assert!(d.packages["linux-image-generic"].held());
    /// assert!(!d.installed("vim"));
    /// ```
    pub fn parse(text: &str) -> Self {
        let mut d = Dpkg::default();
        let (mut name, mut status, mut version) = (None::<&str>, None::<&str>, "");
        let mut flush = |name: &mut Option<&str>, status: &mut Option<&str>, version: &mut &str| {
            if let (Some(n), Some(s)) = (name.take(), status.take()) {
                let words: Vec<&str> = s.split_whitespace().collect();
                d.packages.insert(
                    n.to_owned(),
                    DpkgPackage {
                        selection: words.first().copied().unwrap_or_default().to_owned(),
                        installed: words.last() == Some(&"installed"),
                        version: (*version).to_owned(),
                    },
                );
            }
            *version = "";
        };
        for line in text.lines() {
            if line.trim().is_empty() {
                flush(&mut name, &mut status, &mut version);
            } else if let Some(v) = line.strip_prefix("Package:") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status:") {
                status = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version:") {
                version = v.trim();
            }
        }
        flush(&mut name, &mut status, &mut version);
        d
    }

    /// Reads `/var/lib/dpkg/status`.
    ///
    /// # Errors
    /// The read error (missing on a system without dpkg).
    pub fn read(host: &Host) -> Result<Self, std::io::Error> {
        host.read("/var/lib/dpkg/status").map(|t| Dpkg::parse(&t))
    }

    /// Whether `name` is installed (fully: `… installed`).
    pub fn installed(&self, name: &str) -> bool {
        self.packages.get(name).is_some_and(|p| p.installed)
    }

    /// Installed package names that start with `prefix`.
    pub fn installed_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a DpkgPackage)> {
        self.packages
            .range(prefix.to_owned()..)
            .take_while(move |(n, _)| n.starts_with(prefix))
            .filter(|(_, p)| p.installed)
            .map(|(n, p)| (n.as_str(), p))
    }
}

/// The dpkg database of one host, read on first use: a full system's is a few MiB, so only the
/// checks that need it pay for it (none on a machine without automatic updates or kernels).
#[derive(Debug)]
pub struct LazyDpkg<'a> {
    host: &'a Host,
    cell: std::cell::OnceCell<Result<Dpkg, Option<String>>>,
}

impl<'a> LazyDpkg<'a> {
    /// Nothing is read yet.
    ///
    /// ```
    /// let host = gpuguard::probe::Host::new("/nonexistent");
    /// let dpkg = gpuguard::probe::packages::LazyDpkg::new(&host);
    /// assert!(dpkg.get().is_none() && dpkg.error().is_none()); // absent is no error
    /// ```
    pub fn new(host: &'a Host) -> Self {
        LazyDpkg { host, cell: std::cell::OnceCell::new() }
    }

    /// The database, read now if it was not yet; `None` when absent or unreadable.
    pub fn get(&self) -> Option<&Dpkg> {
        self.cell
            .get_or_init(|| {
                Dpkg::read(self.host).map_err(|e| (e.kind() != std::io::ErrorKind::NotFound).then(|| e.to_string()))
            })
            .as_ref()
            .ok()
    }

    /// Why the database could not be read, when it was read, exists, and failed (a FIFO, too large…).
    pub fn error(&self) -> Option<&str> {
        self.cell.get()?.as_ref().err()?.as_deref()
    }
}

/// Compares kernel (or package) versions as version sorts do: runs of digits numerically, other
/// runs byte-wise, `~` before anything (so `6.8.0-50` > `6.8.0-9` and `5.14.0-427.13.1.el9_4` >
/// `5.14.0-362.24.1.el9_3`).
///
/// ```
/// use std::cmp::Ordering;
/// use gpuguard::probe::packages::compare_versions;
/// assert_eq!(compare_versions("6.8.0-50-generic", "6.8.0-9-generic"), Ordering::Greater);
/// assert_eq!(compare_versions("5.14.0-427.13.1.el9_4.x86_64", "5.14.0-503.11.1.el9_5.x86_64"), Ordering::Less);
/// ```
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (Some(b'~'), Some(b'~')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'~'), _) | (None, Some(_)) => return Ordering::Less,
            (_, Some(b'~')) | (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let na = trim_zeros(&a[..da]);
                let nb = trim_zeros(&b[..db]);
                let o = na.len().cmp(&nb.len()).then(na.cmp(nb));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    // A digit sorts after a separator ("6.8.0-50" vs "6.8.0-50a" are rare enough).
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let z = d.iter().take_while(|&&c| c == b'0').count();
    &d[z..]
}
