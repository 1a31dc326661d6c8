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
