//! `gpuguard doctor` end to end on this machine: a real small /dev/shm made with `unshare -m` and
//! a tmpfs mount, fixture pods whose /dev/shm is a real tmpfs of the Kubernetes sizes, and a
//! kernel log the (unprivileged) user cannot read. Tests that need root skip with a reason.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gpuguard");

/// Whether this process may make mount namespaces (root); prints why not.
fn can_unshare() -> bool {
    let ok = Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: `unshare -m` needs root (or is missing)");
    }
    ok
}

/// Runs `gpuguard doctor args…` in a private mount namespace with a tmpfs of `size` at `shm`.
fn doctor_with_shm(shm: &Path, size: &str, args: &[&str]) -> Output {
    let script = format!("mount -t tmpfs -o size={size} tmpfs \"$1\" && shift && exec \"$@\"");
    Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(shm)
        .arg(BIN)
        .arg("doctor")
        .args(args)
        .output()
        .expect("run unshare")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn gg001(v: &serde_json::Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "GG001")
        .map(|f| (f["severity"].as_str().unwrap_or("").to_owned(), f["message"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// A pod's root: its mountinfo (overlay root, tmpfs /dev/shm) and an empty /dev/shm to mount on.
fn pod_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(d.path().join("proc/self")).expect("mkdir");
    std::fs::create_dir_all(d.path().join("dev/shm")).expect("mkdir");
    std::fs::write(
        d.path().join("proc/self/mountinfo"),
        "1 0 0:31 / / rw - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n2 1 0:32 / /dev/shm rw,nosuid,nodev - tmpfs shm rw,size=65536k\n",
    )
    .expect("write");
    d
}

#[test]
fn small_dev_shm_on_this_machine_fails_the_loader() {
    if !can_unshare() {
        return;
    }
    let out = doctor_with_shm(
        Path::new("/dev/shm"),
        "48m",
        &["--format", "json", "--dataloader-workers", "4", "--batch-bytes", "8Mi"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let f = gg001(&json(&out));
    assert_eq!(f[0].0, "error");
    assert!(f[0].1.starts_with("/dev/shm has 48.0 MiB free"), "{f:?}");
}

#[test]
fn kubernetes_default_64mb_shm_warns() {
    if !can_unshare() {
        return;
    }
    let root = pod_root();
    let r = root.path().to_str().expect("utf-8 path");
    let out = doctor_with_shm(&root.path().join("dev/shm"), "64m", &["--root", r, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "warnings do not fail at the default --fail-on error");
    let f = gg001(&json(&out));
    assert_eq!((f.len(), f[0].0.as_str()), (1, "warning"), "{f:?}");
    assert!(f[0].1.contains("64.0 MiB (the Docker/Kubernetes default)"), "{f:?}");
    let out = doctor_with_shm(&root.path().join("dev/shm"), "64m", &["--root", r, "--fail-on", "warning"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("GG001"));
}

#[test]
fn memory_emptydir_of_16gi_fits_the_loader() {
    if !can_unshare() {
        return;
    }
    let root = pod_root();
    let r = root.path().to_str().expect("utf-8 path");
    // tmpfs reserves nothing up front, so a 16Gi mount costs no memory.
    let args = [
        "--root",
        r,
        "--format",
        "json",
        "--dataloader-workers",
        "8",
        "--batch-bytes",
        "64Mi",
        "--prefetch-factor",
        "4",
    ];
    let out = doctor_with_shm(&root.path().join("dev/shm"), "16g", &args);
    let v = json(&out);
    assert!(gg001(&v).is_empty(), "{v}");
    let shm =
        v["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "dev-shm").expect("dev-shm check").clone();
    assert_eq!(shm["status"], "ok");
    assert!(shm["reason"].as_str().unwrap_or("").contains("16.0 GiB"), "{shm}");
}

#[test]
fn unreadable_kernel_log_is_a_skip_naming_the_access_needed() {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid != "0" || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to run the check as an unprivileged user");
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let log = root.path().join("var/log/kern.log");
    std::fs::create_dir_all(log.parent().expect("parent")).expect("mkdir");
    std::fs::write(&log, "Nov 28 kernel: NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.\n")
        .expect("write");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "doctor", "--format", "json", "--root"])
        .arg(root.path())
        .output()
        .expect("setpriv");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    let c =
        v["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "kernel-log").expect("kernel-log").clone();
    assert_eq!(c["status"], "skipped", "{c}");
    let reason = c["reason"].as_str().unwrap_or("");
    assert!(reason.contains("/var/log/kern.log: permission denied") && reason.contains("adm group"), "{reason}");
    assert!(v["errors"].as_array().is_some_and(|e| e.is_empty()));
}

/// A distribution tree of the core crate's fixtures (read only).
fn distro_root(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpuguard/tests/fixtures/doctor").join(name)
}

fn check_of(v: &serde_json::Value, name: &str) -> serde_json::Value {
    v["checks"].as_array().expect("checks").iter().find(|c| c["name"] == name).cloned().unwrap_or_default()
}

#[test]
fn root_is_a_documented_flag() {
    let out = Command::new(BIN).args(["doctor", "--help"]).output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--root <DIR>") && help.contains("resolved inside DIR"), "{help}");
}

#[test]
fn root_of_a_rhel_node_reports_the_next_boot_and_unpinned_updates_in_json_and_text() {
    let root = distro_root("rhel-9");
    let out = Command::new(BIN).args(["doctor", "--format", "json", "--root"]).arg(&root).output().expect("run");
    assert_eq!(out.status.code(), Some(1), "an error finding fails at the default --fail-on error");
    let v = json(&out);
    let f: Vec<&serde_json::Value> =
        v["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == "GG010").collect();
    assert_eq!(f.len(), 3, "{v}");
    assert_eq!(f[0]["severity"], "error");
    assert!(f[0]["message"].as_str().unwrap_or("").contains("5.14.0-503.11.1.el9_5.x86_64"), "{}", f[0]);
    assert_eq!(f[0]["evidence"]["running_kernel"], "5.14.0-427.13.1.el9_4.x86_64");
    assert_eq!(check_of(&v, "next-boot")["status"], "finding");
    assert_eq!(check_of(&v, "auto-updates")["status"], "finding");
    assert_eq!(check_of(&v, "nvml")["status"], "skipped");

    let out = Command::new(BIN).args(["doctor", "--root"]).arg(&root).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error[GG010] the next boot's kernel 5.14.0-503.11.1.el9_5.x86_64"), "{text}");
    assert!(text.contains("next-boot") && text.contains("auto-updates"), "{text}");
}

#[test]
fn root_findings_and_checks_reach_prometheus_and_promtool_accepts_them() {
    let out = Command::new(BIN)
        .args(["doctor", "--format", "prometheus", "--root"])
        .arg(distro_root("ubuntu-24.04"))
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("gpuguard_finding{rule=\"GG010\",severity=\"error\"} 1"), "{text}");
    assert!(text.contains("gpuguard_finding{rule=\"GG010\",severity=\"warning\"} 2"), "{text}");
    assert!(text.contains("gpuguard_check_status{check=\"next-boot\",status=\"finding\"} 1"), "{text}");
    assert!(text.contains("gpuguard_check_status{check=\"auto-updates\",status=\"finding\"} 1"), "{text}");
    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    match promtool {
        Ok(mut child) => {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
            let o = child.wait_with_output().expect("promtool");
            assert!(
                o.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Err(e) => eprintln!("promtool check not run: promtool not installed ({e})"),
    }
}

#[test]
fn a_fifo_under_the_root_cannot_hang_the_doctor() {
    let d = tempfile::tempdir().expect("tempdir");
    for (p, text) in [
        ("etc/os-release", "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n"),
        ("boot/vmlinuz-6.8.0-51-generic", ""),
        ("lib/modules/6.8.0-51-generic/updates/dkms/nvidia.ko.zst", ""),
    ] {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    for fifo in ["var/lib/dpkg/status", "boot/grub/grubenv", "proc/self/mountinfo", "var/log/syslog"] {
        let path = d.path().join(fifo);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let ok = Command::new("mkfifo").arg(&path).status().is_ok_and(|s| s.success());
        assert!(ok, "mkfifo {}", path.display());
    }
    let mut child = Command::new(BIN)
        .args(["doctor", "--format", "json", "--root"])
        .arg(d.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    // A blocking read of any of the FIFOs would never return: give it 20 s, then fail.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().expect("kill");
            panic!("gpuguard doctor hung on a FIFO under --root");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let v = json(&out);
    let s = check_of(&v, "dpkg-status");
    assert_eq!(s["status"], "skipped", "{v}");
    assert!(s["reason"].as_str().unwrap_or("").contains("a FIFO, not read"), "{s}");
    assert!(check_of(&v, "next-boot")["reason"].as_str().unwrap_or("").contains("skipped /boot/grub/grubenv"), "{v}");
    // The kernel log is not read from a FIFO either, and says so (it used to report it as read).
    let k = check_of(&v, "kernel-log");
    assert!(k["reason"].as_str().unwrap_or("").contains("/var/log/syslog: skipped: a FIFO, not a regular file"), "{k}");
}

#[test]
fn nvml_link_trained_down_under_load_reaches_json_and_prometheus() {
    let Some((_dir, lib)) = gpuguard_test_support::fake_nvml("pcie") else { return };
    let root = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["doctor", "--format", "json", "--root"])
        .arg(root.path())
        .arg("--nvml-library")
        .arg(&lib)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "warnings only");
    let v = json(&out);
    let f: Vec<&serde_json::Value> =
        v["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == "GG005").collect();
    assert_eq!(f.len(), 2, "{v}");
    assert_eq!(
        (f[0]["evidence"]["pcie_gen_current"].as_u64(), f[0]["evidence"]["utilization_gpu_percent"].as_u64()),
        (Some(2), Some(97))
    );
    let out = Command::new(BIN)
        .args(["doctor", "--format", "prometheus", "--root"])
        .arg(root.path())
        .arg("--nvml-library")
        .arg(&lib)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gpuguard_finding{rule=\"GG005\",severity=\"warning\"} 2"), "{text}");
    assert!(text.contains("gpuguard_check_status{check=\"nvml\",status=\"finding\"} 1"), "{text}");
}

/// The new-user trial: a mistyped --root inspected an empty tree and a mistyped --nvml-library
/// skipped NVML, both with exit 0. Either is an input error (exit 2) naming the path.
#[test]
fn a_root_or_nvml_library_that_does_not_exist_is_exit_2_naming_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let missing = root.path().join("nonexist");
    let out = Command::new(BIN).args(["doctor", "--root"]).arg(&missing).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("--root {}: no such directory", missing.display())), "{err}");
    let lib = root.path().join("nonexistent.so");
    let out = Command::new(BIN).args(["doctor", "--root"]).arg(root.path()).arg("--nvml-library").arg(&lib).output();
    let out = out.expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("--nvml-library {}: no such file", lib.display())), "{err}");
    // The tree itself is fine: exit 0.
    let out = Command::new(BIN).args(["doctor", "--root"]).arg(root.path()).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
