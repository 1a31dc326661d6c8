//! GG010 before it happens: automatic updates that can install a new kernel (or a new NVIDIA
//! user-space driver) on a GPU node with nothing pinned. unattended-upgrades on Debian and Ubuntu
//! installs from the security pocket, where every kernel and NVIDIA driver update lands;
//! dnf-automatic and yum-cron on RHEL do the same. A new kernel whose DKMS build fails boots
//! without GPUs; a new driver library under the old loaded module fails NVML with "Driver/library
//! version mismatch" until the node reboots.

use super::Host;
use super::apt_conf::{AptConf, Pin, blacklist_matches, read_pins};
use super::packages::{Family, LazyDpkg, OsRelease};
use crate::{Check, CheckStatus, Finding, Severity};

/// What the update configuration says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoUpdateFacts {
    /// The distribution.
    pub os: Option<OsRelease>,
    /// The mechanism that installs updates unattended, with the setting that turns it on
    /// (`unattended-upgrades: APT::Periodic::Unattended-Upgrade "1" in /etc/apt/apt.conf.d/20auto-upgrades`);
    /// `None` when nothing installs updates automatically.
    pub mechanism: Option<String>,
    /// Why nothing installs updates, when `mechanism` is `None`.
    pub off_because: String,
    /// Kernel packages whose upgrade brings a new kernel (Debian: the `linux-image-*` meta
    /// packages installed; RHEL: `kernel`, `kernel-core`).
    pub kernel_packages: Vec<String>,
    /// Those neither held, pinned, blacklisted nor version-locked.
    pub kernel_unpinned: Vec<String>,
    /// What to hold so no new kernel comes in: the unpinned `linux-image-*` meta packages with
    /// their installed `linux-headers-*` and `linux-*` siblings (Ubuntu's `linux-generic` depends on
    /// both at one version). Debian family only.
    pub kernel_hold: Vec<String>,
    /// NVIDIA driver packages installed (Debian; RHEL's RPM database is not read: the names to lock).
    pub driver_packages: Vec<String>,
    /// Those not pinned.
    pub driver_unpinned: Vec<String>,
    /// Files that could not be read and why.
    pub notes: Vec<String>,
    /// Why the question cannot be answered here (the package database could not be read).
    pub undecidable: Option<String>,
}

/// A versioned kernel package (`linux-image-6.8.0-49-generic`), not a meta package that pulls
/// each new kernel in (`linux-image-generic`, `linux-image-generic-hwe-22.04`, `linux-image-amd64`).
fn versioned_kernel(name: &str) -> bool {
    let b = name.as_bytes();
    // <digits>.<digits>.<digits>-<digit>: the kernel ABI in the name.
    b.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'-' && w[1].is_ascii_digit() && {
            let rest = &name[i + 1..];
            let mut parts = rest.splitn(4, ['.', '-']);
            (0..3).all(|_| parts.next().is_some_and(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit())))
                && rest.split('-').nth(1).is_some_and(|p| p.bytes().next().is_some_and(|c| c.is_ascii_digit()))
        }
    })
}

/// Whether systemd would start `unit` from `/etc/systemd/system/<target>.wants/` and it is not
/// masked (a link to /dev/null).
fn unit_enabled(host: &Host, target: &str, unit: &str) -> bool {
    let masked = std::fs::read_link(host.path("/etc/systemd/system").join(unit))
        .is_ok_and(|t| t == std::path::Path::new("/dev/null"));
    !masked && std::fs::symlink_metadata(host.path(&format!("/etc/systemd/system/{target}.wants")).join(unit)).is_ok()
}

/// Whether the unit file is installed at all (systemd's vendor directories).
fn unit_installed(host: &Host, unit: &str) -> bool {
    ["/lib/systemd/system", "/usr/lib/systemd/system"].iter().any(|d| host.path(&format!("{d}/{unit}")).exists())
}

fn debian(host: &Host, dpkg: &LazyDpkg<'_>, f: &mut AutoUpdateFacts) {
    let (apt, mut skipped) = AptConf::read(host);
    f.notes.append(&mut skipped);
    // The switch first: when it is off, the package database need not be read at all.
    let key = "APT::Periodic::Unattended-Upgrade";
    let value = apt.get(key).unwrap_or("0");
    let file = apt.set_in.get(&key.to_ascii_lowercase()).cloned();
    if value == "0" || value.is_empty() {
        f.off_because = match &file {
            Some(file) => format!("{key} is \"{value}\" (set in {file})"),
            None => format!("{key} is not set in /etc/apt/apt.conf.d"),
        };
        return;
    }
    let file = file.unwrap_or_default();
    if unit_installed(host, "apt-daily-upgrade.timer")
        && !unit_enabled(host, "timers.target", "apt-daily-upgrade.timer")
    {
        f.off_because =
            format!("{key} \"{value}\" in {file}, but apt-daily-upgrade.timer, which runs it, is disabled or masked");
        return;
    }
    let Some(dpkg) = dpkg.get() else {
        f.undecidable = Some(
            "the dpkg database (/var/lib/dpkg/status) could not be read: which packages are installed and held is unknown"
                .into(),
        );
        return;
    };
    if !dpkg.installed("unattended-upgrades") {
        f.off_because = format!("{key} \"{value}\" in {file}, but unattended-upgrades is not installed");
        return;
    }
    f.mechanism = Some(format!("unattended-upgrades: {key} \"{value}\" in {file}"));
    let pins = read_pins(host, &mut f.notes);
    let blacklist = apt.list("Unattended-Upgrade::Package-Blacklist").to_vec();
    let pinned = |name: &str, p: &super::packages::DpkgPackage| {
        p.held()
            || blacklist.iter().any(|b| blacklist_matches(b, name))
            || pins.iter().any(|pin: &Pin| pin.blocks(name))
    };
    for (name, p) in dpkg.installed_with_prefix("linux-image-") {
        if !versioned_kernel(name) {
            f.kernel_packages.push(name.to_owned());
            if !pinned(name, p) {
                f.kernel_unpinned.push(name.to_owned());
                f.kernel_hold.push(name.to_owned());
                let flavour = &name["linux-image-".len()..];
                for sibling in [format!("linux-headers-{flavour}"), format!("linux-{flavour}")] {
                    if dpkg.packages.get(&sibling).is_some_and(|p| p.installed && !pinned(&sibling, p)) {
                        f.kernel_hold.push(sibling);
                    }
                }
            }
        }
    }
    for prefix in ["nvidia-driver", "nvidia-dkms-", "nvidia-kernel-dkms", "libnvidia-compute-", "cuda-drivers"] {
        for (name, p) in dpkg.installed_with_prefix(prefix) {
            f.driver_packages.push(name.to_owned());
            if !pinned(name, p) {
                f.driver_unpinned.push(name.to_owned());
            }
        }
    }
}

/// INI options (`[section]`, `key = value`) as dnf.conf and automatic.conf write them.
fn ini(text: &str, section: &str, key: &str) -> Option<String> {
    let mut cur = String::new();
    let mut found = None;
    for l in text.lines().map(str::trim) {
        if l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(s) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            cur = s.trim().to_owned();
        } else if let Some((k, v)) = l.split_once('=') {
            if cur == section && k.trim() == key {
                found = Some(v.trim().to_owned());
            }
        }
    }
    found
}

fn yes(v: Option<&str>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on"))
}

/// The package name of a versionlock entry (`kernel-core-0:5.14.0-427.13.1.el9_4.*` →
/// `kernel-core`; `!` marks an excluded version, still a lock).
fn nevra_name(entry: &str) -> &str {
    let e = entry.trim_start_matches('!');
    if let Some(colon) = e.find(':') {
        return e[..colon].rsplit_once('-').map_or(e, |(n, _)| n);
    }
    // name-version-release.arch: strip the last two dash-separated parts.
    e.rsplitn(3, '-').nth(2).unwrap_or(e)
}

fn glob_matches(pattern: &str, name: &str) -> bool {
    let re = format!("^{}$", regex::escape(pattern).replace("\\*", ".*").replace("\\?", "."));
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(name))
}

fn redhat(host: &Host, f: &mut AutoUpdateFacts) {
    let mut read = |p: &str| match host.read(p) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            f.notes.push(format!("skipped {p}: {e}"));
            None
        }
    };
    let automatic = read("/etc/dnf/automatic.conf");
    let yum_cron = read("/etc/yum/yum-cron.conf");
    let dnf_conf = read("/etc/dnf/dnf.conf").or_else(|| read("/etc/yum.conf"));
    let lock_conf = read("/etc/dnf/plugins/versionlock.conf");
    // The plugin reads its list only when installed and enabled (its .conf ships enabled = 1).
    let lock_list =
        lock_conf.as_deref().filter(|c| ini(c, "main", "enabled").is_none_or(|v| yes(Some(&v)))).and_then(|c| {
            let path = ini(c, "main", "locklist").unwrap_or_else(|| "/etc/dnf/plugins/versionlock.list".into());
            read(&path)
        });
    let locked: Vec<String> = lock_list
        .iter()
        .flat_map(|t| t.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| nevra_name(l).to_owned())
        .collect();
    let mut excludes: Vec<String> = Vec::new();
    for (text, section) in [(&dnf_conf, "main"), (&automatic, "base")] {
        for key in ["exclude", "excludepkgs"] {
            if let Some(v) = text.as_deref().and_then(|t| ini(t, section, key)) {
                excludes.extend(v.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned));
            }
        }
    }
    let pinned = |name: &str| {
        locked.iter().any(|l| glob_matches(l, name) || l == name) || excludes.iter().any(|e| glob_matches(e, name))
    };
    for k in ["kernel", "kernel-core"] {
        f.kernel_packages.push(k.into());
        if !pinned(k) {
            f.kernel_unpinned.push(k.into());
        }
    }
    for d in ["nvidia-driver", "kmod-nvidia"] {
        f.driver_packages.push(d.into());
        if !pinned(d) && !locked.iter().any(|l| l.starts_with(d)) {
            f.driver_unpinned.push(d.into());
        }
    }
    let apply = yes(automatic.as_deref().and_then(|t| ini(t, "commands", "apply_updates")).as_deref());
    if unit_enabled(host, "timers.target", "dnf-automatic-install.timer") {
        f.mechanism = Some(
            "dnf-automatic: dnf-automatic-install.timer is enabled (it installs updates whatever apply_updates says)"
                .into(),
        );
    } else if unit_enabled(host, "timers.target", "dnf-automatic.timer") && apply {
        f.mechanism = Some(
            "dnf-automatic: dnf-automatic.timer is enabled and apply_updates = yes in /etc/dnf/automatic.conf".into(),
        );
    } else if unit_enabled(host, "multi-user.target", "yum-cron.service")
        && yes(yum_cron.as_deref().and_then(|t| ini(t, "commands", "apply_updates")).as_deref())
    {
        f.mechanism =
            Some("yum-cron: yum-cron.service is enabled and apply_updates = yes in /etc/yum/yum-cron.conf".into());
    } else {
        f.off_because = if automatic.is_some() {
            "dnf-automatic is installed but no timer of it installs updates (dnf-automatic.timer with apply_updates = yes, or dnf-automatic-install.timer)".into()
        } else {
            "neither dnf-automatic nor yum-cron installs updates".into()
        };
    }
}

/// Reads the automatic-update facts under `host`; `dpkg` is its package database, read only when
/// APT's configuration turns unattended-upgrades on.
///
/// ```
/// let host = gpuguard::probe::Host::new("/nonexistent");
/// let f = gpuguard::probe::auto_updates::facts(&host, &gpuguard::probe::packages::LazyDpkg::new(&host));
/// assert!(f.os.is_none() && f.mechanism.is_none());
/// ```
pub fn facts(host: &Host, dpkg: &LazyDpkg<'_>) -> AutoUpdateFacts {
    let mut f = AutoUpdateFacts { os: OsRelease::read(host), ..Default::default() };
    match f.os.as_ref().map(OsRelease::family) {
        Some(Family::Debian) => debian(host, dpkg, &mut f),
        Some(Family::RedHat) => redhat(host, &mut f),
        _ => {}
    }
    f
}

/// Judges the facts; `driver_installed` says whether an NVIDIA kernel module is installed for some
/// kernel (without one, a new kernel breaks nothing).
///
/// ```
/// use gpuguard::probe::auto_updates::{judge, AutoUpdateFacts};
/// use gpuguard::probe::packages::OsRelease;
/// let f = AutoUpdateFacts {
///     os: Some(OsRelease::parse("ID=ubuntu\nVERSION_ID=\"24.04\"\n")),
///     mechanism: Some("unattended-upgrades".into()),
///     kernel_packages: vec!["linux-image-generic".into()],
///     kernel_unpinned: vec!["linux-image-generic".into()],
///     ..Default::default()
/// };
/// let (_, findings) = judge(&f, true);
/// assert!(findings[0].fix.contains("apt-mark hold linux-image-generic"));
/// ```
pub fn judge(f: &AutoUpdateFacts, driver_installed: bool) -> (Check, Vec<Finding>) {
    let notes = if f.notes.is_empty() { String::new() } else { format!(" ({})", f.notes.join("; ")) };
    let Some(os) = &f.os else {
        return (
            Check::new(
                "auto-updates",
                CheckStatus::Skipped,
                format!("no /etc/os-release: the distribution is unknown{notes}"),
            ),
            vec![],
        );
    };
    let family = os.family();
    if family == Family::Other {
        return (
            Check::new(
                "auto-updates",
                CheckStatus::Skipped,
                format!("{}: only Debian/Ubuntu (APT) and RHEL (DNF, yum) update settings are read{notes}", os.name()),
            ),
            vec![],
        );
    }
    if let Some(why) = &f.undecidable {
        return (Check::new("auto-updates", CheckStatus::Skipped, format!("{}: {why}{notes}", os.name())), vec![]);
    }
    let Some(mechanism) = &f.mechanism else {
        return (
            Check::new(
                "auto-updates",
                CheckStatus::Ok,
                format!("{}: no automatic updates: {}{notes}", os.name(), f.off_because),
            ),
            vec![],
        );
    };
    if !driver_installed {
        return (
            Check::new(
                "auto-updates",
                CheckStatus::Ok,
                format!(
                    "{}: {mechanism}; no NVIDIA kernel module installed for a new kernel to break{notes}",
                    os.name()
                ),
            ),
            vec![],
        );
    }
    let mut findings = Vec::new();
    let (kernel_fix, driver_fix) = match family {
        Family::RedHat => (
            "lock the kernel: `sudo dnf install python3-dnf-plugin-versionlock && sudo dnf versionlock add kernel kernel-core kernel-modules kernel-modules-core` (or `excludepkgs=kernel*` in /etc/dnf/dnf.conf), or stop unattended installs (apply_updates = no in /etc/dnf/automatic.conf, `sudo systemctl disable --now dnf-automatic-install.timer`); upgrade kernel and driver together in a maintenance window, then run `gpuguard doctor` before the reboot".to_owned(),
            "lock the driver: `sudo dnf versionlock add 'nvidia-driver*' 'kmod-nvidia*'`; upgrade it in a maintenance window with a reboot".to_owned(),
        ),
        _ => (
                format!(
                    "hold the kernel: `sudo apt-mark hold {}`, or add `Unattended-Upgrade::Package-Blacklist {{ \"linux-\"; \"nvidia-\"; \"libnvidia-\"; }};` to /etc/apt/apt.conf.d/50unattended-upgrades; upgrade kernel and driver together in a maintenance window, then run `gpuguard doctor` before the reboot",
                    if f.kernel_hold.is_empty() { f.kernel_unpinned.join(" ") } else { f.kernel_hold.join(" ") }
                ),
                format!(
                    "hold the driver: `sudo apt-mark hold {}`, or blacklist \"nvidia-\" and \"libnvidia-\" in Unattended-Upgrade::Package-Blacklist (/etc/apt/apt.conf.d/50unattended-upgrades); upgrade it in a maintenance window with a reboot",
                f.driver_unpinned.join(" ")
            ),
        ),
    };
    let warn = |what: String, fix: String, key: &str, packages: &[String], unpinned: &[String]| {
        Finding::new("GG010", Severity::Warning, format!("{}: automatic updates ({mechanism}) {what}", os.name()), fix)
            .with_evidence("mechanism", mechanism.as_str())
            .with_evidence(key, packages.to_vec())
            .with_evidence("unpinned", unpinned.to_vec())
    };
    if !f.kernel_unpinned.is_empty() {
        findings.push(warn(
            format!(
                "can install a new kernel: {} neither held nor pinned; if its DKMS build fails, the next reboot leaves this node without GPUs",
                f.kernel_unpinned.join(", ")
            ),
            kernel_fix,
            "kernel_packages",
            &f.kernel_packages,
            &f.kernel_unpinned,
        ));
    }
    if !f.driver_unpinned.is_empty() {
        findings.push(warn(
            format!(
                "can upgrade the NVIDIA driver ({}) under the loaded module: NVML then fails with \"Driver/library version mismatch\" until a reboot",
                f.driver_unpinned.join(", ")
            ),
            driver_fix,
            "driver_packages",
            &f.driver_packages,
            &f.driver_unpinned,
        ));
    }
    let status = if findings.is_empty() { CheckStatus::Ok } else { CheckStatus::Finding };
    let pinned = if findings.is_empty() {
        format!("; kernel ({}) and driver packages held or pinned", f.kernel_packages.join(", "))
    } else {
        String::new()
    };
    (Check::new("auto-updates", status, format!("{}: {mechanism}{pinned}{notes}", os.name())), findings)
}
