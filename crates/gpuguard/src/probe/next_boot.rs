//! GG010 before it happens: which kernel boots next, and will it have an NVIDIA module?
//!
//! Automatic security updates install a kernel; DKMS builds the NVIDIA module for it in the
//! kernel package's post-install hook, and when that build fails (no headers, a driver too old for
//! the kernel) nothing says so until the reboot, when every GPU on the node is gone. This probe
//! finds the kernel the boot loader will start (GRUB's `next_entry`/`saved_entry` and
//! `GRUB_DEFAULT`, BLS entries, systemd-boot's `default`, else the newest installed kernel) and
//! looks for its module the three ways one arrives: DKMS, a precompiled package
//! (`linux-modules-nvidia-*` on Ubuntu), or module files (RHEL's `kmod-nvidia` under `extra/` or
//! `weak-updates/`).

use super::Host;
use super::driver::{dkms_nvidia, find_modules, first_build_error, list_dir, make_log_kernel};
use super::packages::{Family, LazyDpkg, compare_versions};
use crate::{Check, CheckStatus, Finding, Location, Severity};
use std::collections::BTreeSet;

/// What was found for one kernel's NVIDIA module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelModule {
    /// The kernel release (`6.8.0-51-generic`).
    pub kernel: String,
    /// `nvidia*.ko*` files under `/lib/modules/<kernel>/` (dangling links left out).
    pub module_files: Vec<String>,
    /// DKMS `<module>/<version>` entries with a built module for this kernel.
    pub dkms_built: Vec<String>,
    /// Installed precompiled module packages for this kernel (`linux-modules-nvidia-550-6.8.0-51-generic`).
    pub packages: Vec<String>,
    /// Whether `/lib/modules/<kernel>/build` exists: without the headers DKMS cannot build.
    pub headers: bool,
    /// The first error of a DKMS make.log written for this kernel: (file, line, text).
    pub build_error: Option<(String, usize, String)>,
}

impl KernelModule {
    /// Whether any module is there for the kernel.
    pub fn present(&self) -> bool {
        !self.module_files.is_empty() || !self.dkms_built.is_empty() || !self.packages.is_empty()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.dkms_built.is_empty() {
            parts.push(format!("DKMS {}", self.dkms_built.join(", ")));
        }
        parts.extend(self.packages.iter().cloned());
        if parts.is_empty() {
            // nvidia.ko itself, else any of its siblings (nvidia-uvm.ko…).
            let main =
                self.module_files.iter().find(|f| f.rsplit('/').next().is_some_and(|n| n.starts_with("nvidia.ko")));
            if let Some(f) = main.or(self.module_files.first()) {
                parts.push(f.clone());
            }
        }
        if parts.is_empty() { "none".into() } else { parts.join(", ") }
    }
}

/// The facts about the next boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextBootFacts {
    /// The running kernel, when `/proc` says.
    pub running: Option<String>,
    /// Installed kernels, oldest first.
    pub installed: Vec<String>,
    /// The kernel that boots next.
    pub next: Option<String>,
    /// How it was chosen ("GRUB saved_entry in /boot/grub2/grubenv").
    pub chosen_by: String,
    /// What could not be read or resolved, for the check's reason.
    pub notes: Vec<String>,
    /// The NVIDIA driver in DKMS, `<module>/<version>` (`nvidia/550.120`, `nvidia-current/535.183.01`).
    pub dkms_versions: Vec<String>,
    /// Whether an NVIDIA module is installed for any kernel (else nothing can break).
    pub driver_anywhere: bool,
    /// The next kernel's module.
    pub next_module: Option<KernelModule>,
    /// The running kernel's module.
    pub running_module: Option<KernelModule>,
    /// The distribution family, for the fix.
    pub family: Option<Family>,
}

/// Reads a file, recording why when it exists but cannot be read (a FIFO, too large…).
fn read_noted(host: &Host, path: &str, notes: &mut Vec<String>) -> Option<String> {
    match host.read(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            notes.push(format!("skipped {path}: {e}"));
            None
        }
    }
}

/// Installed kernels: `/boot/vmlinuz-<release>` (Debian, Ubuntu, RHEL) and
/// `/lib/modules/<release>/vmlinuz` (RHEL and Fedora's kernel-core), oldest first.
fn installed_kernels(host: &Host) -> Vec<String> {
    let mut set = BTreeSet::new();
    for name in list_dir(&host.path("/boot")) {
        // RHEL's rescue image (vmlinuz-0-rescue-<machine-id>) is never the default.
        if let Some(v) = name.strip_prefix("vmlinuz-").filter(|v| !v.is_empty() && !v.contains("-rescue-")) {
            set.insert(v.to_owned());
        }
    }
    for name in list_dir(&host.path("/lib/modules")) {
        if host.path(&format!("/lib/modules/{name}/vmlinuz")).is_file() {
            set.insert(name);
        }
    }
    let mut v: Vec<String> = set.into_iter().collect();
    v.sort_by(|a, b| compare_versions(a, b));
    v
}

/// `KEY=value` lines (grubenv, /etc/default/grub), quotes removed; the last one wins.
fn shell_var(text: &str, key: &str) -> Option<String> {
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
}

/// The kernel a BLS entry boots (`version`, else the `linux` path's `vmlinuz-<release>` or
/// `/<machine-id>/<release>/linux`).
fn bls_kernel(text: &str) -> Option<String> {
    let field = |k: &str| {
        text.lines().find_map(|l| {
            let (key, v) = l.trim().split_once(char::is_whitespace)?;
            (key == k).then(|| v.trim().to_owned())
        })
    };
    if let Some(v) = field("version").filter(|v| !v.is_empty()) {
        return Some(v);
    }
    let linux = field("linux")?;
    let file = linux.rsplit('/').next()?;
    if let Some(v) = file.strip_prefix("vmlinuz-") {
        return Some(v.to_owned());
    }
    linux.rsplit('/').nth(1).map(str::to_owned)
}

/// The kernel an entry string names: a BLS entry id (RHEL's saved_entry), else the installed
/// kernel whose release it contains (GRUB titles "Advanced options for Ubuntu>Ubuntu, with Linux
/// 6.8.0-45-generic" and ids "gnulinux-6.8.0-45-generic-advanced-<uuid>").
fn entry_kernel(host: &Host, entry: &str, installed: &[String], notes: &mut Vec<String>) -> Option<String> {
    // Resolved inside the root like every path: an entry with `../` cannot reach outside it.
    if let Some(text) = read_noted(host, &format!("/boot/loader/entries/{entry}.conf"), notes) {
        return bls_kernel(&text);
    }
    installed.iter().filter(|k| entry.contains(k.as_str())).max_by_key(|k| k.len()).cloned()
}

/// systemd-boot: `default` in loader.conf (a glob over entry ids), entries newest first.
fn systemd_boot(host: &Host, notes: &mut Vec<String>) -> Option<(String, String)> {
    for esp in ["/boot", "/efi", "/boot/efi"] {
        let conf_path = format!("{esp}/loader/loader.conf");
        let Some(conf) = read_noted(host, &conf_path, notes) else { continue };
        let pattern = conf.lines().find_map(|l| l.trim().strip_prefix("default")).map(|p| p.trim().to_owned());
        let mut entries: Vec<(String, String)> = list_dir(&host.path(&format!("{esp}/loader/entries")))
            .into_iter()
            .filter_map(|f| {
                let id = f.strip_suffix(".conf")?.to_owned();
                let text = read_noted(host, &format!("{esp}/loader/entries/{f}"), notes)?;
                Some((id, bls_kernel(&text)?))
            })
            .collect();
        entries.sort_by(|a, b| compare_versions(&b.1, &a.1));
        let re = pattern.as_deref().filter(|p| !p.is_empty() && !p.starts_with('@')).and_then(|p| {
            let r = regex::escape(p).replace("\\*", ".*").replace("\\?", ".");
            regex::Regex::new(&format!("^{r}$")).ok()
        });
        if pattern.as_deref().is_some_and(|p| p.starts_with('@')) {
            notes.push(format!("{conf_path} default {}: an EFI variable, not read", pattern.as_deref().unwrap_or("")));
        }
        let chosen = entries.iter().find(|(id, _)| re.as_ref().is_none_or(|r| r.is_match(id)))?;
        return Some((chosen.1.clone(), format!("systemd-boot entry {} ({conf_path})", chosen.0)));
    }
    None
}

/// Picks the kernel the boot loader starts next among `installed` (non-empty).
fn choose(host: &Host, installed: &[String], notes: &mut Vec<String>) -> (String, String) {
    let newest = installed.last().cloned().unwrap_or_default();
    let mut env = None;
    for f in ["/boot/grub/grubenv", "/boot/grub2/grubenv"] {
        if let Some(t) = read_noted(host, f, notes) {
            env = Some((t, f));
            break;
        }
    }
    let mut default = None;
    let mut files = vec!["/etc/default/grub".to_owned()];
    // Ubuntu's cloud images override GRUB_DEFAULT in /etc/default/grub.d/*.cfg, read after the main file.
    files.extend(
        list_dir(&host.path("/etc/default/grub.d"))
            .into_iter()
            .filter(|f| f.ends_with(".cfg"))
            .map(|f| format!("/etc/default/grub.d/{f}")),
    );
    for f in &files {
        if let Some(v) = read_noted(host, f, notes).and_then(|t| shell_var(&t, "GRUB_DEFAULT")) {
            default = Some((v, f.clone()));
        }
    }
    let by_entry = |entry: &str, how: String, notes: &mut Vec<String>| match entry_kernel(host, entry, installed, notes)
    {
        Some(k) => (k, how),
        None => {
            notes.push(format!(
                "{how} names {entry:?}, which is no installed kernel: GRUB falls back to the first entry"
            ));
            (newest.clone(), "the first menu entry, the newest installed kernel".into())
        }
    };
    if let Some((t, f)) = &env {
        if let Some(e) = shell_var(t, "next_entry").filter(|e| !e.is_empty()) {
            return by_entry(&e, format!("GRUB next_entry in {f} (a one-time boot)"), notes);
        }
    }
    match default {
        Some((v, f)) if v == "saved" => match env.as_ref().and_then(|(t, ef)| Some((shell_var(t, "saved_entry")?, ef)))
        {
            Some((e, ef)) if !e.is_empty() => {
                by_entry(&e, format!("GRUB saved_entry in {ef} (GRUB_DEFAULT=saved in {f})"), notes)
            }
            _ => (newest, format!("GRUB_DEFAULT=saved in {f} with no saved_entry: the newest installed kernel")),
        },
        Some((v, f)) if v.bytes().all(|b| b.is_ascii_digit()) => {
            if v.parse::<u32>().is_ok_and(|n| n > 0) {
                notes.push(format!("GRUB_DEFAULT={v} in {f} is a menu position: assumed the newest kernel"));
            }
            (newest, format!("GRUB_DEFAULT={v} in {f}: the first menu entry, the newest installed kernel"))
        }
        Some((v, f)) => by_entry(&v, format!("GRUB_DEFAULT in {f}"), notes),
        None => match systemd_boot(host, notes) {
            Some(c) => c,
            None => (newest, "the newest installed kernel".into()),
        },
    }
}

/// What is installed for `kernel`'s NVIDIA module.
fn module_for(host: &Host, kernel: &str, dkms_versions: &[String], dpkg: &LazyDpkg<'_>) -> KernelModule {
    let base = format!("/lib/modules/{kernel}");
    let mut files = Vec::new();
    find_modules(&host.path(&base), &base, 4, &mut files);
    // RHEL's weak-updates/ links to another kernel's kmod: keep only links that resolve in the root.
    files.retain(|f| host.path(f).exists());
    let dkms_built = dkms_versions
        .iter()
        .filter(|v| {
            let mut built = Vec::new();
            let dir = format!("/var/lib/dkms/{v}/{kernel}");
            find_modules(&host.path(&dir), &dir, 3, &mut built);
            !built.is_empty()
        })
        .cloned()
        .collect();
    let suffix = format!("-{kernel}");
    let packages = dpkg
        .get()
        .map(|d| {
            d.installed_with_prefix("linux-modules-nvidia-")
                .filter(|(n, _)| n.ends_with(&suffix))
                .map(|(n, _)| n.to_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut build_error = None;
    'versions: for v in dkms_versions {
        // DKMS keeps the last build's log in build/; DKMS 3 also copies it beside the built module.
        let mut logs = vec![format!("/var/lib/dkms/{v}/build/make.log")];
        for arch in list_dir(&host.path(&format!("/var/lib/dkms/{v}/{kernel}"))) {
            logs.push(format!("/var/lib/dkms/{v}/{kernel}/{arch}/log/make.log"));
        }
        for log in logs {
            let Ok(text) = host.read(&log) else { continue };
            if make_log_kernel(&text) != Some(kernel) {
                continue;
            }
            if let Some((line, l)) = first_build_error(&text) {
                build_error = Some((log, line, l));
                break 'versions;
            }
        }
    }
    KernelModule {
        kernel: kernel.to_owned(),
        module_files: files,
        dkms_built,
        packages,
        headers: host.path(&format!("{base}/build")).is_dir(),
        build_error,
    }
}

/// Reads the next-boot facts under `host`; `dpkg` is its package database, read only when a
/// kernel is installed.
///
/// ```
/// let host = gpuguard::probe::Host::new("/nonexistent");
/// let f = gpuguard::probe::next_boot::facts(&host, &gpuguard::probe::packages::LazyDpkg::new(&host));
/// assert!(f.installed.is_empty() && f.next.is_none());
/// ```
pub fn facts(host: &Host, dpkg: &LazyDpkg<'_>) -> NextBootFacts {
    let mut f = NextBootFacts {
        running: host.read("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        installed: installed_kernels(host),
        family: super::packages::OsRelease::read(host).map(|o| o.family()),
        ..Default::default()
    };
    f.dkms_versions = dkms_nvidia(host);
    if f.installed.is_empty() {
        return f;
    }
    let (next, how) = choose(host, &f.installed, &mut f.notes);
    f.chosen_by = how;
    let next_module = module_for(host, &next, &f.dkms_versions, dpkg);
    f.running_module = f.running.as_deref().filter(|r| *r != next).map(|r| module_for(host, r, &f.dkms_versions, dpkg));
    f.driver_anywhere = !f.dkms_versions.is_empty()
        || next_module.present()
        || f.running_module.as_ref().is_some_and(KernelModule::present)
        || dpkg.get().is_some_and(|d| d.installed_with_prefix("linux-modules-nvidia-").next().is_some())
        || f.installed.iter().any(|k| {
            let mut m = Vec::new();
            let base = format!("/lib/modules/{k}");
            find_modules(&host.path(&base), &base, 4, &mut m);
            !m.is_empty()
        });
    f.next = Some(next);
    f.next_module = Some(next_module);
    f
}

/// Judges the next boot: an error when the kernel that boots next has no NVIDIA module.
///
/// ```
/// use gpuguard::probe::next_boot::{judge, KernelModule, NextBootFacts};
/// let f = NextBootFacts {
///     running: Some("6.8.0-49-generic".into()),
///     installed: vec!["6.8.0-49-generic".into(), "6.8.0-51-generic".into()],
///     next: Some("6.8.0-51-generic".into()),
///     chosen_by: "the newest installed kernel".into(),
///     driver_anywhere: true,
///     next_module: Some(KernelModule { kernel: "6.8.0-51-generic".into(), ..Default::default() }),
///     ..Default::default()
/// };
/// let (_, findings) = judge(&f);
/// assert!(findings[0].message.contains("6.8.0-51-generic") && findings[0].message.contains("6.8.0-49-generic"));
/// ```
pub fn judge(f: &NextBootFacts) -> (Check, Vec<Finding>) {
    let notes = if f.notes.is_empty() { String::new() } else { format!(" ({})", f.notes.join("; ")) };
    let (Some(next), Some(m)) = (&f.next, &f.next_module) else {
        return (
            Check::new(
                "next-boot",
                CheckStatus::Skipped,
                format!(
                    "no installed kernel under /boot (vmlinuz-*) or /lib/modules/*/vmlinuz: a container or an image without its own kernel; judge the next boot on the node{notes}"
                ),
            ),
            vec![],
        );
    };
    if !f.driver_anywhere {
        return (
            Check::new(
                "next-boot",
                CheckStatus::Skipped,
                format!(
                    "next boot: kernel {next} ({}); no NVIDIA kernel module is installed for any kernel{notes}",
                    f.chosen_by
                ),
            ),
            vec![],
        );
    }
    let same = f.running.as_deref() == Some(next.as_str());
    if m.present() || same {
        // The running kernel without a module is the driver check's finding, not a future one.
        let what = if same { "the running kernel".to_owned() } else { format!("NVIDIA module: {}", m.describe()) };
        return (
            Check::new(
                "next-boot",
                CheckStatus::Ok,
                format!("next boot: kernel {next} ({}), {what}{notes}", f.chosen_by),
            ),
            vec![],
        );
    }
    let running = match (&f.running, &f.running_module) {
        (Some(r), Some(rm)) if rm.present() => format!("; the running kernel {r} has {}", rm.describe()),
        (Some(r), _) => format!("; the running kernel is {r}"),
        _ => String::new(),
    };
    let mut cause = String::new();
    let mut location = Location { path: Some(format!("/lib/modules/{next}")), ..Default::default() };
    if let Some((file, line, text)) = &m.build_error {
        cause = format!(": its DKMS build failed, read {file} (line {line}: {text})");
        location = Location { file: Some(file.clone()), line: Some(*line), path: location.path, ..Default::default() };
    } else if !f.dkms_versions.is_empty() && !m.headers {
        cause = format!(
            ": its headers are not installed (/lib/modules/{next}/build is missing), so DKMS could not build {}",
            f.dkms_versions.join(", ")
        );
    } else if let Some(p) = f.running_module.as_ref().and_then(|rm| rm.packages.first()) {
        cause = format!(": {p} is installed for the running kernel but no such package for {next}");
    } else if !f.dkms_versions.is_empty() {
        cause = format!(
            ": DKMS has {} but no build for it; read /var/lib/dkms/{}/build/make.log",
            f.dkms_versions.join(", "),
            f.dkms_versions.last().map_or("", String::as_str)
        );
    }
    let running_kernel = f.running.clone().unwrap_or_else(|| "the previous kernel".into());
    // The running kernel's precompiled package names the branch to install for the next one.
    let precompiled = f
        .running_module
        .as_ref()
        .and_then(|rm| rm.packages.first())
        .zip(f.running.as_deref())
        .and_then(|(p, r)| p.strip_suffix(r))
        .map(|branch| format!("{branch}{next}"));
    let dkms = !f.dkms_versions.is_empty();
    let fix = match f.family {
        Some(Family::RedHat) => {
            let build = if dkms {
                format!(
                    "install the headers and rebuild (`sudo dnf install kernel-devel-{next} && sudo dkms autoinstall -k {next}`)"
                )
            } else {
                // kmod-nvidia-<driver>-<kernel>-<release>: the kernel release without dist and arch.
                let bare = next.split(".el").next().unwrap_or(next);
                format!(
                    "install the precompiled module for it (`sudo dnf install kmod-nvidia-<driver>-{bare}`, NVIDIA's precompiled streams)"
                )
            };
            format!(
                "{build}; until then keep booting {running_kernel} (`sudo grubby --set-default /boot/vmlinuz-{running_kernel}`) and lock the kernel (`sudo dnf versionlock add kernel kernel-core`)"
            )
        }
        _ => {
            let build = match (&precompiled, dkms) {
                (Some(p), _) => format!("install the precompiled module for it (`sudo apt install {p}`)"),
                (None, true) => format!(
                    "install the headers and rebuild (`sudo apt install linux-headers-{next} && sudo dkms autoinstall -k {next}`)"
                ),
                (None, false) => format!(
                    "install the NVIDIA module for it (linux-modules-nvidia-<branch>-{next}, or the driver's DKMS package)"
                ),
            };
            format!(
                "{build}; until then keep booting {running_kernel} (set GRUB_DEFAULT to its entry and run update-grub) and hold the kernel (`sudo apt-mark hold linux-image-generic linux-headers-generic`)"
            )
        }
    };
    let finding = Finding::new(
        "GG010",
        Severity::Error,
        format!(
            "the next boot's kernel {next} ({}) has no NVIDIA module{running}: after the next reboot no GPU works on this node{cause}",
            f.chosen_by
        ),
        fix,
    )
    .with_location(location)
    .with_evidence("next_kernel", next.as_str())
    .with_evidence("running_kernel", f.running.clone())
    .with_evidence("chosen_by", f.chosen_by.as_str())
    .with_evidence("installed_kernels", f.installed.clone())
    .with_evidence("dkms_versions", f.dkms_versions.clone())
    .with_evidence("headers_installed", m.headers)
    .with_evidence("make_log", m.build_error.as_ref().map(|e| e.0.clone()));
    (
        Check::new(
            "next-boot",
            CheckStatus::Finding,
            format!("next boot: kernel {next} ({}), no NVIDIA module{notes}", f.chosen_by),
        ),
        vec![finding],
    )
}
