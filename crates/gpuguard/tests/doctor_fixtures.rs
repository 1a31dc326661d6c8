//! The doctor against fixture trees written in the real file formats, and the real NVML code
//! path through a scripted stand-in library (the gpuguard-test-support crate's
//! nvml_stub/fake_nvml.c) built with the system C compiler.

use gpuguard::doctor::{DoctorOptions, doctor};
use gpuguard::probe::{Host, nvml};
use gpuguard::{CheckStatus, Report, Severity};
use gpuguard_test_support::fake_nvml;
use std::path::Path;

/// Writes `files` (absolute paths as on the inspected machine) under a new temporary root.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for (p, text) in files {
        let path = d.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        if p.ends_with('/') {
            std::fs::create_dir_all(&path).expect("mkdir");
        } else {
            std::fs::write(path, text).expect("write");
        }
    }
    d
}

fn rules(r: &Report, rule: &str) -> Vec<(Severity, String)> {
    r.findings.iter().filter(|f| f.rule == rule).map(|f| (f.severity, f.message.clone())).collect()
}

fn check<'a>(r: &'a Report, name: &str) -> &'a gpuguard::Check {
    r.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name} in {:?}", r.checks))
}

const POD_MOUNTINFO: &str = "\
2233 1876 0:312 / / rw,relatime master:600 - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/41/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/52/fs,workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/52/work
2234 2233 0:315 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
2240 2233 0:311 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64
2250 2233 259:1 /var/lib/kubelet/pods/7f1c2b9e-1111-4c1e-9c55-3f0b5e7d2a10/volumes/kubernetes.io~empty-dir/cache /root/.cache rw,relatime - ext4 /dev/nvme0n1p1 rw
2251 2233 0:55 / /mnt/ckpt rw,relatime - nfs4 10.0.0.5:/exports/pvc-3a7c0f4e-8f61-4ad8-9d1c-4f5a3e0c9b21 rw,vers=4.1
2252 2233 259:3 /var/lib/kubelet/pods/7f1c2b9e-1111-4c1e-9c55-3f0b5e7d2a10/volumes/kubernetes.io~csi/pvc-91d2/mount /models rw,relatime - ext4 /dev/nvme2n1 rw
";

fn pod() -> tempfile::TempDir {
    tree(&[
        ("/proc/self/mountinfo", POD_MOUNTINFO),
        ("/proc/self/cgroup", "0::/\n"),
        ("/sys/fs/cgroup/memory.max", "8589934592\n"),
        ("/var/run/secrets/kubernetes.io/serviceaccount/token", "x"),
        ("/dev/shm/", ""),
        // The directories the tests judge exist, as on a pod that has run once.
        ("/workspace/ckpt/", ""),
        ("/mnt/ckpt/run-8/", ""),
        ("/root/.cache/huggingface/hub/", ""),
        ("/models/hf/hub/", ""),
    ])
}

fn run(root: &Path, env: &[(&str, &str)], opts: DoctorOptions) -> Report {
    doctor(&Host::new(root).with_env(env.iter().copied()), &opts)
}

#[test]
fn checkpoint_dir_on_overlay_is_an_error_and_on_a_pvc_is_fine() {
    let d = pod();
    let r = run(
        d.path(),
        &[("HOME", "/root")],
        DoctorOptions { checkpoint_dir: Some("/workspace/ckpt".into()), ..Default::default() },
    );
    let f = rules(&r, "GG003");
    assert_eq!(f[0].0, Severity::Error, "{f:?}");
    assert!(f[0].1.contains("container's writable layer"), "{f:?}");
    assert_eq!(check(&r, "container").reason.split(' ').next(), Some("kubernetes"));
    let r = run(
        d.path(),
        &[("HOME", "/root")],
        DoctorOptions { checkpoint_dir: Some("/mnt/ckpt/run-7/../run-8".into()), ..Default::default() },
    );
    assert!(rules(&r, "GG003").iter().all(|(s, _)| *s != Severity::Error), "{:?}", r.findings);
    assert!(
        check(&r, "checkpoint-dir").reason.starts_with("/mnt/ckpt/run-8: /mnt/ckpt (nfs4"),
        "{:?}",
        check(&r, "checkpoint-dir")
    );
}

#[test]
fn hf_cache_on_an_emptydir_is_lost_with_the_pod() {
    let d = pod();
    let r = run(d.path(), &[("HOME", "/root")], DoctorOptions::default());
    let f = rules(&r, "GG006");
    assert_eq!(f.len(), 1);
    assert!(f[0].1.contains("/root/.cache/huggingface/hub") && f[0].1.contains("emptyDir"), "{f:?}");
    let r = run(d.path(), &[("HOME", "/root"), ("HF_HOME", "/models/hf")], DoctorOptions::default());
    assert!(rules(&r, "GG006").is_empty(), "{:?}", r.findings);
    assert!(check(&r, "hf-cache").reason.contains("from HF_HOME"));
}

#[test]
fn memory_limit_below_what_the_loader_needs_in_shm() {
    let d = pod();
    let loader = gpuguard::probe::dev_shm::LoaderShape {
        num_workers: 8,
        batch_bytes: 256 << 20,
        prefetch_factor: 4,
        loaders: 1,
        local_processes: 1,
    };
    let r = run(d.path(), &[], DoctorOptions { loader: Some(loader), ..Default::default() });
    assert!(check(&r, "dev-shm").reason.contains("memory limit 8"), "{:?}", check(&r, "dev-shm"));
    assert!(
        rules(&r, "GG001").iter().any(|(s, m)| *s == Severity::Error && m.contains("memory limit is 8")),
        "{:?}",
        r.findings
    );
}

#[test]
fn upgraded_kernel_without_a_module() {
    let d = tree(&[
        ("/proc/sys/kernel/osrelease", "6.8.0-50-generic\n"),
        ("/lib/modules/6.8.0-50-generic/kernel/drivers/net/e1000.ko.zst", ""),
        ("/lib/modules/6.8.0-45-generic/updates/dkms/nvidia.ko.zst", ""),
        ("/var/lib/dkms/nvidia/535.129.03/6.8.0-45-generic/x86_64/module/nvidia.ko.zst", ""),
        ("/var/lib/dkms/nvidia/535.129.03/source/dkms.conf", "PACKAGE_NAME=\"nvidia\"\n"),
    ]);
    let r = run(d.path(), &[], DoctorOptions::default());
    let f = rules(&r, "GG010");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].1.contains("kernel 6.8.0-50-generic has no NVIDIA module") && f[0].1.contains("535.129.03"), "{f:?}");
    // The same node booted into the kernel the module was built for is fine.
    std::fs::write(d.path().join("proc/sys/kernel/osrelease"), "6.8.0-45-generic\n").expect("write");
    let r = run(d.path(), &[], DoctorOptions::default());
    assert!(rules(&r, "GG010").is_empty(), "{:?}", r.findings);
    assert!(check(&r, "driver").reason.contains("1 module file(s)"), "{:?}", check(&r, "driver"));
}

#[test]
fn failed_dkms_build_points_at_the_make_log_line() {
    let log = "\
DKMS make.log for nvidia-550.54.14 for kernel 6.11.0-9-generic (x86_64)
make[1]: Entering directory '/usr/src/linux-headers-6.11.0-9-generic'
  CC [M]  /var/lib/dkms/nvidia/550.54.14/build/nvidia/nv.o
/var/lib/dkms/nvidia/550.54.14/build/nvidia/nv.c:2013:5: error: implicit declaration of function 'follow_pfn'
make[2]: *** [scripts/Makefile.build:244: nvidia/nv.o] Error 1
";
    let d = tree(&[
        ("/proc/sys/kernel/osrelease", "6.11.0-9-generic\n"),
        ("/lib/modules/6.11.0-9-generic/kernel/", ""),
        ("/var/lib/dkms/nvidia/550.54.14/build/make.log", log),
    ]);
    let r = run(d.path(), &[], DoctorOptions::default());
    let f: Vec<_> = r.findings.iter().filter(|f| f.rule == "GG010" && f.message.contains("DKMS build")).collect();
    assert_eq!(f.len(), 1, "{:?}", r.findings);
    assert_eq!(f[0].location.line, Some(4));
    assert_eq!(f[0].location.file.as_deref(), Some("/var/lib/dkms/nvidia/550.54.14/build/make.log"));
    assert!(f[0].message.contains("follow_pfn"));
}

#[test]
fn kernel_log_xid_lines_reach_the_sink() {
    let d = tree(&[(
        "/var/log/kern.log",
        "Nov 28 09:14:02 gpu-7 kernel: [ 812.5] NVRM: Xid (PCI:0000:3b:00): 79, pid=2412, name=python, GPU has fallen off the bus.\nNov 28 09:14:03 gpu-7 kernel: eth0: link up\n",
    )]);
    let r = run(d.path(), &[], DoctorOptions::default());
    assert_eq!(check(&r, "kernel-log").status, CheckStatus::Finding);
    assert_eq!(r.findings.iter().find(|f| f.rule == "GG005").and_then(|f| f.location.line), Some(1));
    let empty = tree(&[]);
    assert_eq!(check(&run(empty.path(), &[], DoctorOptions::default()), "kernel-log").status, CheckStatus::Skipped);
}

#[test]
fn nvml_missing_library_is_a_skip_not_a_failure() {
    let (c, f, facts) = nvml::check("/nonexistent/libnvidia-ml.so.1".as_ref(), Some(1));
    assert_eq!(c.status, CheckStatus::Skipped);
    assert!(c.reason.starts_with("no NVIDIA driver library found"), "{}", c.reason);
    assert!(f.is_empty() && facts.is_none());
}

#[test]
fn nvml_healthy_reports_devices() {
    let Some((_dir, lib)) = fake_nvml("healthy") else { return };
    let facts = nvml::query(lib.as_os_str()).expect("query");
    assert_eq!(facts.driver_version.as_deref(), Some("550.54.14"));
    assert_eq!(facts.cuda_version, Some(12040));
    assert_eq!(facts.gpus.len(), 2);
    let g = &facts.gpus[0];
    assert_eq!(
        (g.name.as_str(), g.uuid.as_str(), g.pci_bus_id.as_str()),
        ("NVIDIA H100 80GB HBM3", "GPU-6f2c1a0e-8d1b-4a57-b6a0-3b1f0c9d2e11", "00000000:3B:00.0")
    );
    assert_eq!(
        (g.pci_device_id, g.mig_enabled, g.ecc_volatile_uncorrected, g.processes.as_slice()),
        (0x233010DE, Some(false), Some(0), &[4242][..])
    );
    // The L4 supports neither ECC counters nor MIG: unknown, not an error.
    assert_eq!(
        (facts.gpus[1].mig_enabled, facts.gpus[1].ecc_volatile_uncorrected, facts.gpus[1].remapped_rows),
        (None, None, None)
    );
    let (c, f, _) = nvml::check(lib.as_os_str(), Some(2));
    assert_eq!((c.status, f.len()), (CheckStatus::Ok, 0), "{f:?}");
    assert!(c.reason.contains("driver 550.54.14, CUDA 12.4"), "{}", c.reason);
    let (_, f, _) = nvml::check(lib.as_os_str(), Some(4));
    assert_eq!(f[0].rule, "GG008");
}

#[test]
fn nvml_ecc_double_bit_errors() {
    let Some((_dir, lib)) = fake_nvml("ecc") else { return };
    let (c, f, _) = nvml::check(lib.as_os_str(), None);
    assert_eq!(c.status, CheckStatus::Finding);
    let msgs: Vec<&str> =
        f.iter().filter(|f| f.rule == "GG005" && f.severity == Severity::Error).map(|f| f.message.as_str()).collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(msgs[0].starts_with("GPU 0 (NVIDIA H100 80GB HBM3, 00000000:3B:00.0): 2 uncorrectable"), "{msgs:?}");
    assert!(msgs[1].contains("retired") && msgs[2].contains("row remap is pending"), "{msgs:?}");
    let (_, _, facts) = nvml::check(lib.as_os_str(), None);
    let g = &facts.expect("facts").gpus[0];
    let counts = (g.ecc_volatile_corrected, g.ecc_aggregate_corrected, g.retired_pages_sbe, g.retired_pages_dbe);
    assert_eq!(counts, (Some(37), Some(1234), Some(3), Some(1)));
}

#[test]
fn nvml_mig_on_isolates_and_pending_change_warns() {
    let Some((_dir, lib)) = fake_nvml("mig") else { return };
    let (_, f, facts) = nvml::check(lib.as_os_str(), None);
    let facts = facts.expect("facts");
    assert_eq!((facts.gpus[0].mig_enabled, facts.gpus[0].processes.len()), (Some(true), 2));
    assert_eq!(f.len(), 1, "two processes on MIG slices are isolated; only GPU 1's pending change warns: {f:?}");
    assert!(f[0].rule == "GG004" && f[0].message.starts_with("GPU 1") && f[0].message.contains("off → on"), "{f:?}");
}

#[test]
fn nvml_two_processes_time_slice_one_gpu() {
    let Some((_dir, lib)) = fake_nvml("shared") else { return };
    let (_, f, _) = nvml::check(lib.as_os_str(), None);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule.as_str(), f[0].severity), ("GG004", Severity::Warning));
    assert_eq!(f[0].evidence["pids"], serde_json::json!([4242, 5151]));
}

#[test]
fn nvml_driver_library_mismatch() {
    // NVML's own refusal (nvmlInit returns LIB_RM_VERSION_MISMATCH)…
    let Some((_dir, lib)) = fake_nvml("mismatch") else { return };
    let (c, f, _) = nvml::check(lib.as_os_str(), None);
    assert_eq!((c.status, f[0].rule.as_str(), f[0].severity), (CheckStatus::Finding, "GG010", Severity::Error));
    // …and a library that loads but reports another version than the loaded module.
    let Some((_dir2, healthy)) = fake_nvml("healthy") else { return };
    let d = tree(&[
        ("/proc/sys/kernel/osrelease", "6.8.0-49-generic\n"),
        ("/sys/module/nvidia/version", "535.129.03\n"),
        (
            "/proc/driver/nvidia/version",
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 18:56:32 UTC 2023\nGCC version:  gcc version 12.3.0\n",
        ),
    ]);
    let r = run(d.path(), &[], DoctorOptions { nvml_library: Some(healthy), ..Default::default() });
    let f = rules(&r, "GG010");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].1.contains("kernel module 535.129.03 but user-space NVML library 550.54.14"), "{f:?}");
}

#[test]
fn real_machine_runs_every_probe() {
    let r = doctor(
        &Host::default(),
        &DoctorOptions { checkpoint_dir: Some(std::env::temp_dir().display().to_string()), ..Default::default() },
    );
    for name in
        ["container", "dev-shm", "checkpoint-dir", "hf-cache", "gpu-devices", "nvml", "gpu-env", "driver", "kernel-log"]
    {
        assert!(r.checks.iter().any(|c| c.name == name), "missing check {name}: {:?}", r.checks);
    }
    let nvml = check(&r, "nvml");
    if !Path::new("/dev/nvidiactl").exists() {
        assert_eq!(nvml.status, CheckStatus::Skipped, "{nvml:?}");
    }
}

#[test]
fn driver_questions_that_cannot_be_answered_stay_quiet() {
    // A container: DKMS state is visible through a host mount but /lib/modules is not.
    let d = tree(&[
        ("/proc/sys/kernel/osrelease", "6.8.0-50-generic\n"),
        ("/var/lib/dkms/nvidia/535.129.03/6.8.0-45-generic/x86_64/module/nvidia.ko.zst", ""),
        (
            "/var/lib/dkms/nvidia/535.129.03/build/make.log",
            "DKMS make.log for nvidia-535.129.03 for kernel 6.8.0-45-generic (x86_64)\nnv.c:1:1: error: old failure\n",
        ),
    ]);
    let r = run(d.path(), &[], DoctorOptions::default());
    assert!(rules(&r, "GG010").is_empty(), "no /lib/modules and a make.log of another kernel: {:?}", r.findings);
    assert_eq!(check(&r, "driver").status, CheckStatus::Ok);
}

#[test]
fn journal_records_are_read() {
    let d = tree(&[(
        "/var/log/journal/4f2b0c1d9e8a7b6c5d4e3f2a1b0c9d8e/system.journal",
        "LPKSHHRH\0\0\0_TRANSPORT=kernel\0MESSAGE=NVRM: Xid (PCI:0000:3b:00): 94, pid=2412, Contained ECC error.\0PRIORITY=4\0",
    )]);
    let r = run(d.path(), &[], DoctorOptions::default());
    let c = check(&r, "kernel-log");
    assert_eq!(c.status, CheckStatus::Finding, "{c:?}");
    assert!(c.reason.contains("/var/log/journal/4f2b0c1d9e8a7b6c5d4e3f2a1b0c9d8e/system.journal"), "{c:?}");
    let f = r.findings.iter().find(|f| f.rule == "GG005").expect("GG005");
    assert!(f.message.contains("GPU 0000:3b:00: XID 94"), "{}", f.message);
}

// ---------------------------------------------------------------------------------------------
// The next boot and automatic updates, on trees laid out as the distributions lay them out
// (tests/fixtures/doctor/<distro>/: merged /usr with /lib -> usr/lib, os-release links, dpkg status
// stanzas, GRUB and BLS files, DKMS trees). Each test copies a tree and changes what it judges.

/// Copies `src` to `dst`, keeping symbolic links as links (the trees rely on them).
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read fixture dir") {
        let e = e.expect("entry");
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let t = e.file_type().expect("file type");
        if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).expect("readlink"), &to).expect("symlink");
        } else if t.is_dir() {
            copy_tree(&from, &to);
        } else {
            std::fs::copy(&from, &to).expect("copy");
        }
    }
}

/// A private copy of the fixture tree of `distro`.
fn distro(name: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/doctor").join(name), d.path());
    d
}

/// Writes `text` at `path` (absolute on the inspected machine) under `root`, following the tree's
/// own links the way the machine would (so /lib/... lands in usr/lib/...).
fn put(root: &Path, path: &str, text: &str) {
    let p = Host::new(root).path(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn edit(root: &Path, path: &str, f: impl FnOnce(String) -> String) {
    let p = Host::new(root).path(path);
    let text = std::fs::read_to_string(&p).expect("read");
    std::fs::write(p, f(text)).expect("write");
}

/// Sets the dpkg selection of `packages` to `hold` (`apt-mark hold`) or back to `install`.
fn mark(root: &Path, packages: &[&str], hold: bool) {
    edit(root, "/var/lib/dpkg/status", |t| {
        t.split("\n\n")
            .map(|s| {
                let name = s.lines().next().and_then(|l| l.strip_prefix("Package: ")).unwrap_or("");
                if packages.contains(&name) {
                    let (from, to) = if hold { ("install ok", "hold ok") } else { ("hold ok", "install ok") };
                    s.replacen(&format!("Status: {from}"), &format!("Status: {to}"), 1)
                } else {
                    s.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    });
}

fn doctor_at(root: &Path) -> Report {
    run(root, &[], DoctorOptions::default())
}

#[test]
fn ubuntu_24_04_newest_kernel_whose_dkms_build_failed_is_an_error_naming_both_kernels_and_the_log() {
    let d = distro("ubuntu-24.04");
    let r = doctor_at(d.path());
    let f: Vec<_> = r.findings.iter().filter(|f| f.rule == "GG010" && f.severity == Severity::Error).collect();
    assert_eq!(f.len(), 1, "{:?}", r.findings);
    let m = &f[0].message;
    assert!(m.starts_with("the next boot's kernel 6.8.0-51-generic (GRUB_DEFAULT=0 in /etc/default/grub"), "{m}");
    assert!(m.contains("the running kernel 6.8.0-49-generic has DKMS nvidia/550.120"), "{m}");
    assert!(m.contains("read /var/lib/dkms/nvidia/550.120/build/make.log (line 7:") && m.contains("follow_pfn"), "{m}");
    assert_eq!(f[0].location.file.as_deref(), Some("/var/lib/dkms/nvidia/550.120/build/make.log"));
    assert_eq!(f[0].location.line, Some(7));
    assert!(
        f[0].fix
            .contains("sudo apt install linux-headers-6.8.0-51-generic && sudo dkms autoinstall -k 6.8.0-51-generic")
    );
    assert_eq!(f[0].evidence["next_kernel"], "6.8.0-51-generic");
    assert_eq!(f[0].evidence["running_kernel"], "6.8.0-49-generic");
    assert_eq!(check(&r, "next-boot").status, CheckStatus::Finding);
    // The running kernel has its module: the present-tense driver check stays quiet.
    assert!(
        r.findings.iter().all(|f| !f.message.contains("DKMS build of the NVIDIA module failed")),
        "{:?}",
        r.findings
    );

    // DKMS rebuilt it (a successful make.log, the module installed): the next boot is fine.
    put(d.path(), "/var/lib/dkms/nvidia/550.120/6.8.0-51-generic/x86_64/module/nvidia.ko.zst", "");
    put(d.path(), "/lib/modules/6.8.0-51-generic/updates/dkms/nvidia.ko.zst", "");
    put(
        d.path(),
        "/var/lib/dkms/nvidia/550.120/build/make.log",
        "DKMS make.log for nvidia-550.120 for kernel 6.8.0-51-generic (x86_64)\nmake[1]: Leaving directory '/usr/src/linux-headers-6.8.0-51-generic'\n",
    );
    let r = doctor_at(d.path());
    assert!(r.findings.iter().all(|f| f.severity != Severity::Error), "{:?}", r.findings);
    let c = check(&r, "next-boot");
    assert_eq!(c.status, CheckStatus::Ok, "{c:?}");
    assert!(c.reason.contains("kernel 6.8.0-51-generic") && c.reason.contains("DKMS nvidia/550.120"), "{c:?}");
}

#[test]
fn next_kernel_without_headers_says_dkms_could_not_build() {
    let d = distro("ubuntu-24.04");
    std::fs::remove_file(Host::new(d.path()).path("/var/lib/dkms/nvidia/550.120/build/make.log")).expect("rm");
    // The headers package was never installed: /lib/modules/<kernel>/build is absent.
    std::fs::remove_file(d.path().join("usr/lib/modules/6.8.0-51-generic/build")).expect("rm");
    let r = doctor_at(d.path());
    let f = rules(&r, "GG010");
    assert!(
        f.iter().any(|(s, m)| *s == Severity::Error
            && m.contains("its headers are not installed (/lib/modules/6.8.0-51-generic/build is missing)")),
        "{f:?}"
    );
}

#[test]
fn ubuntu_24_04_unattended_upgrades_with_an_unheld_kernel_warns_and_a_hold_clears_it() {
    let d = distro("ubuntu-24.04");
    let r = doctor_at(d.path());
    let w: Vec<_> = r.findings.iter().filter(|f| f.rule == "GG010" && f.severity == Severity::Warning).collect();
    assert_eq!(w.len(), 2, "{:?}", r.findings);
    assert!(
        w[0].message.contains(
            "unattended-upgrades: APT::Periodic::Unattended-Upgrade \"1\" in /etc/apt/apt.conf.d/20auto-upgrades"
        ),
        "{}",
        w[0].message
    );
    assert!(
        w[0].message.contains("can install a new kernel: linux-image-generic neither held nor pinned"),
        "{}",
        w[0].message
    );
    assert!(
        w[0].fix.contains("`sudo apt-mark hold linux-image-generic linux-headers-generic linux-generic`"),
        "{}",
        w[0].fix
    );
    assert!(w[1].message.contains("nvidia-driver-550, nvidia-dkms-550, libnvidia-compute-550"), "{}", w[1].message);
    assert!(w[1].message.contains("Driver/library version mismatch"), "{}", w[1].message);

    mark(d.path(), &["linux-image-generic", "nvidia-driver-550", "nvidia-dkms-550", "libnvidia-compute-550"], true);
    let r = doctor_at(d.path());
    assert!(r.findings.iter().all(|f| f.severity != Severity::Warning), "{:?}", r.findings);
    let c = check(&r, "auto-updates");
    assert_eq!(c.status, CheckStatus::Ok);
    assert!(c.reason.contains("held or pinned"), "{c:?}");
}

#[test]
fn unattended_upgrades_off_or_its_timer_masked_is_no_automatic_update() {
    let d = distro("ubuntu-24.04");
    put(
        d.path(),
        "/etc/apt/apt.conf.d/20auto-upgrades",
        "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"0\";\n",
    );
    let r = doctor_at(d.path());
    let c = check(&r, "auto-updates");
    assert_eq!(c.status, CheckStatus::Ok, "{c:?}");
    assert!(
        c.reason.contains("APT::Periodic::Unattended-Upgrade is \"0\" (set in /etc/apt/apt.conf.d/20auto-upgrades)"),
        "{c:?}"
    );

    let d = distro("ubuntu-24.04");
    // `systemctl mask apt-daily-upgrade.timer`.
    std::os::unix::fs::symlink("/dev/null", d.path().join("etc/systemd/system/apt-daily-upgrade.timer")).expect("ln");
    let c = check(&doctor_at(d.path()), "auto-updates").clone();
    assert!(c.status == CheckStatus::Ok && c.reason.contains("disabled or masked"), "{c:?}");

    // apt.conf's nested form turns it on just the same.
    let d = distro("ubuntu-24.04");
    put(
        d.path(),
        "/etc/apt/apt.conf.d/20auto-upgrades",
        "APT {\n  Periodic {\n    Unattended-Upgrade \"1\";\n  };\n};\n",
    );
    assert_eq!(check(&doctor_at(d.path()), "auto-updates").status, CheckStatus::Finding);
}

#[test]
fn an_apt_preferences_pin_keeps_the_kernel() {
    let d = distro("ubuntu-24.04");
    put(
        d.path(),
        "/etc/apt/preferences.d/gpu-node-kernel",
        "Explanation: kernel and NVIDIA driver move together\nPackage: linux-image-generic linux-headers-generic linux-generic\nPin: version 6.8.0-51.52\nPin-Priority: 1001\n\nPackage: /^(lib)?nvidia-/\nPin: release *\nPin-Priority: -1\n",
    );
    let r = doctor_at(d.path());
    let c = check(&r, "auto-updates");
    assert_eq!(c.status, CheckStatus::Ok, "{c:?} {:?}", r.findings);
}

#[test]
fn ubuntu_22_04_precompiled_modules_and_held_kernel_are_clean_until_unheld_or_a_kernel_without_its_package() {
    let d = distro("ubuntu-22.04");
    let r = doctor_at(d.path());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(check(&r, "next-boot").status, CheckStatus::Ok);
    assert!(check(&r, "auto-updates").reason.contains("held or pinned"));

    // The admin unholds the kernel: unattended-upgrades installs 5.15.0-127 with no precompiled module.
    mark(d.path(), &["linux-image-generic", "linux-generic", "linux-headers-generic"], false);
    for f in ["vmlinuz", "initrd.img"] {
        put(d.path(), &format!("/boot/{f}-5.15.0-127-generic"), "");
    }
    put(d.path(), "/lib/modules/5.15.0-127-generic/modules.dep", "");
    let r = doctor_at(d.path());
    let e: Vec<_> = r.findings.iter().filter(|f| f.severity == Severity::Error).collect();
    assert_eq!(e.len(), 1, "{:?}", r.findings);
    assert!(
        e[0].message.contains("kernel 5.15.0-127-generic") && e[0].message.contains("5.15.0-126-generic"),
        "{}",
        e[0].message
    );
    assert!(
        e[0].message.contains("linux-modules-nvidia-535-server-5.15.0-126-generic is installed for the running kernel"),
        "{}",
        e[0].message
    );
    assert!(e[0].fix.contains("sudo apt install linux-modules-nvidia-535-server-5.15.0-127-generic"), "{}", e[0].fix);
    let w = rules(&r, "GG010").into_iter().filter(|(s, _)| *s == Severity::Warning).collect::<Vec<_>>();
    assert_eq!(w.len(), 1, "the driver stays held: {w:?}");
    assert!(w[0].1.contains("linux-image-generic neither held nor pinned"), "{w:?}");
}

#[test]
fn debian_12_blacklisted_kernel_is_clean_and_grub_default_by_title_is_followed() {
    let d = distro("debian-12");
    let r = doctor_at(d.path());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let c = check(&r, "next-boot");
    assert!(c.reason.contains("kernel 6.1.0-28-amd64") && c.reason.contains("DKMS nvidia-current/535.183.01"), "{c:?}");

    // GRUB_DEFAULT naming a submenu entry by title boots the older kernel.
    edit(d.path(), "/etc/default/grub", |t| {
        t.replace(
            "GRUB_DEFAULT=0",
            "GRUB_DEFAULT=\"Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-27-amd64\"",
        )
    });
    let c = check(&doctor_at(d.path()), "next-boot").clone();
    assert!(c.reason.starts_with("next boot: kernel 6.1.0-27-amd64 (GRUB_DEFAULT in /etc/default/grub)"), "{c:?}");

    // Without the blacklist, unattended-upgrades may install Debian's next kernel and driver.
    edit(d.path(), "/etc/apt/apt.conf.d/50unattended-upgrades", |t| {
        t.replace("    \"linux-\";\n", "").replace("    \"nvidia-\";\n", "")
    });
    let r = doctor_at(d.path());
    let w = rules(&r, "GG010");
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].1.starts_with("Debian GNU/Linux 12 (bookworm): automatic updates") && w[0].1.contains("linux-image-amd64"),
        "{w:?}"
    );
    assert!(
        w[1].1.contains("nvidia-driver") && w[1].1.contains("nvidia-kernel-dkms") && !w[1].1.contains("libcuda1"),
        "{w:?}"
    );
}

#[test]
fn rhel_9_saved_entry_kernel_without_kmod_and_dnf_automatic_without_versionlock() {
    let d = distro("rhel-9");
    let r = doctor_at(d.path());
    let e: Vec<_> = r.findings.iter().filter(|f| f.severity == Severity::Error).collect();
    assert_eq!(e.len(), 1, "{:?}", r.findings);
    assert!(
        e[0].message.starts_with("the next boot's kernel 5.14.0-503.11.1.el9_5.x86_64 (GRUB saved_entry in /boot/grub2/grubenv (GRUB_DEFAULT=saved in /etc/default/grub))"),
        "{}",
        e[0].message
    );
    assert!(e[0].message.contains("the running kernel 5.14.0-427.13.1.el9_4.x86_64 has /lib/modules/5.14.0-427.13.1.el9_4.x86_64/extra/drivers/video/nvidia/nvidia.ko"), "{}", e[0].message);
    assert!(
        e[0].fix.contains("kmod-nvidia-<driver>-5.14.0-503.11.1")
            && e[0].fix.contains("grubby --set-default /boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64"),
        "{}",
        e[0].fix
    );
    let w: Vec<_> = r.findings.iter().filter(|f| f.severity == Severity::Warning).collect();
    assert_eq!(w.len(), 2, "{:?}", r.findings);
    assert!(
        w[0].message.contains("dnf-automatic-install.timer is enabled") && w[0].message.contains("kernel, kernel-core"),
        "{}",
        w[0].message
    );
    assert!(w[0].fix.contains("dnf versionlock add kernel kernel-core"), "{}", w[0].fix);

    // `grubby --set-default` back to the kernel with the kmod, and `dnf versionlock add`.
    edit(d.path(), "/boot/grub2/grubenv", |t| t.replace("503.11.1.el9_5", "427.13.1.el9_4"));
    put(
        d.path(),
        "/etc/dnf/plugins/versionlock.list",
        "# Added lock on Tue Dec  3 10:02:11 2024\nkernel-0:5.14.0-427.13.1.el9_4.*\nkernel-core-0:5.14.0-427.13.1.el9_4.*\n# Added lock on Tue Dec  3 10:02:30 2024\nnvidia-driver-3:550.54.15-1.el9.*\nkmod-nvidia-550.54.15-5.14.0-427.13.1-3:550.54.15-2.el9_4.*\n",
    );
    let r = doctor_at(d.path());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert!(check(&r, "next-boot").reason.contains("kernel 5.14.0-427.13.1.el9_4.x86_64 (GRUB saved_entry"));

    // The lock list is ignored when the plugin is disabled.
    put(
        d.path(),
        "/etc/dnf/plugins/versionlock.conf",
        "[main]\nenabled = 0\nlocklist = /etc/dnf/plugins/versionlock.list\n",
    );
    assert_eq!(rules(&doctor_at(d.path()), "GG010").len(), 2);
}

#[test]
fn rhel_9_dnf_automatic_timer_installs_only_with_apply_updates() {
    let d = distro("rhel-9");
    let wants = d.path().join("etc/systemd/system/timers.target.wants");
    std::fs::remove_file(wants.join("dnf-automatic-install.timer")).expect("rm");
    std::os::unix::fs::symlink("/usr/lib/systemd/system/dnf-automatic.timer", wants.join("dnf-automatic.timer"))
        .expect("ln");
    let c = check(&doctor_at(d.path()), "auto-updates").clone();
    assert!(c.status == CheckStatus::Ok && c.reason.contains("no timer of it installs updates"), "{c:?}");
    edit(d.path(), "/etc/dnf/automatic.conf", |t| t.replace("apply_updates = no", "apply_updates = yes"));
    let c = check(&doctor_at(d.path()), "auto-updates").clone();
    assert!(c.status == CheckStatus::Finding && c.reason.contains("apply_updates = yes"), "{c:?}");
}

#[test]
fn grub_next_entry_one_time_boot_wins() {
    let d = distro("rhel-9");
    edit(d.path(), "/boot/grub2/grubenv", |t| {
        let body = t.replace(
            "menu_auto_hide=1\n",
            "menu_auto_hide=1\nnext_entry=3c4a1d1e5f1a4e0b9e6f2d7c8b9a0e1f-5.14.0-427.13.1.el9_4.x86_64\n",
        );
        body[..1024].to_owned()
    });
    let c = check(&doctor_at(d.path()), "next-boot").clone();
    assert!(c.reason.contains("kernel 5.14.0-427.13.1.el9_4.x86_64 (GRUB next_entry in /boot/grub2/grubenv"), "{c:?}");
}

#[test]
fn systemd_boot_default_glob_picks_the_entry() {
    let d = tree(&[
        ("/etc/os-release", "ID=arch\n"),
        ("/proc/sys/kernel/osrelease", "6.6.63-1-lts\n"),
        ("/boot/vmlinuz-6.6.63-1-lts", ""),
        ("/boot/vmlinuz-6.12.1-arch1-1", ""),
        ("/boot/loader/loader.conf", "timeout 3\ndefault lts*\n"),
        (
            "/boot/loader/entries/arch.conf",
            "title Arch Linux\nlinux /vmlinuz-6.12.1-arch1-1\ninitrd /initramfs-linux.img\n",
        ),
        ("/boot/loader/entries/lts.conf", "title Arch Linux LTS\nlinux /vmlinuz-6.6.63-1-lts\n"),
        ("/var/lib/dkms/nvidia/565.57.01/6.6.63-1-lts/x86_64/module/nvidia.ko.zst", ""),
        ("/lib/modules/6.6.63-1-lts/updates/dkms/nvidia.ko.zst", ""),
    ]);
    let r = doctor_at(d.path());
    let c = check(&r, "next-boot");
    assert!(c.reason.contains("kernel 6.6.63-1-lts (systemd-boot entry lts (/boot/loader/loader.conf))"), "{c:?}");
    assert_eq!(check(&r, "auto-updates").status, CheckStatus::Skipped);
    // Without a default, systemd-boot starts the newest entry, which has no module.
    edit(d.path(), "/boot/loader/loader.conf", |t| t.replace("default lts*\n", ""));
    let f = rules(&doctor_at(d.path()), "GG010");
    assert!(
        f.iter().any(|(s, m)| *s == Severity::Error && m.contains("kernel 6.12.1-arch1-1 (systemd-boot entry arch")),
        "{f:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The doctor cannot be hung or led outside its root.

#[test]
fn fifos_huge_files_and_link_loops_under_the_root_are_skipped_with_a_reason() {
    let d = distro("ubuntu-24.04");
    let mkfifo = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: c is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", p.display());
    };
    // A FIFO where GRUB's environment block and an APT config file should be: reading either
    // without O_NONBLOCK would wait for a writer forever.
    std::fs::remove_file(d.path().join("boot/grub/grubenv")).expect("rm");
    mkfifo(&d.path().join("boot/grub/grubenv"));
    mkfifo(&d.path().join("etc/apt/apt.conf.d/99fifo"));
    mkfifo(&d.path().join("proc/sys/kernel/osrelease.fifo"));
    // A dpkg status file past the read limit (sparse: no disk used).
    let status = d.path().join("var/lib/dpkg/status");
    std::fs::OpenOptions::new().write(true).open(&status).expect("open").set_len(17 << 20).expect("grow");
    // A link loop for the DKMS log.
    let log = d.path().join("var/lib/dkms/nvidia/550.120/build/make.log");
    std::fs::remove_file(&log).expect("rm");
    std::os::unix::fs::symlink("make.log", &log).expect("ln");

    let started = std::time::Instant::now();
    let r = doctor_at(d.path());
    // Not a timing assertion: a hang would never get here; this only reports.
    eprintln!("doctor on the hostile tree: {:?}", started.elapsed());
    let c = check(&r, "next-boot");
    assert!(c.reason.contains("skipped /boot/grub/grubenv:") && c.reason.contains("a FIFO, not read"), "{c:?}");
    let a = check(&r, "auto-updates");
    assert!(a.reason.contains("skipped /etc/apt/apt.conf.d/99fifo:") && a.reason.contains("a FIFO, not read"), "{a:?}");
    let s = check(&r, "dpkg-status");
    assert_eq!(s.status, CheckStatus::Skipped);
    assert!(s.reason.contains("larger than 16 MiB, not read"), "{s:?}");
    // Still judged what it could: the newest kernel has no module (no make.log to name now).
    assert!(
        rules(&r, "GG010").iter().any(|(s, m)| *s == Severity::Error && m.contains("6.8.0-51-generic")),
        "{:?}",
        r.findings
    );
}

#[test]
fn links_and_entries_from_file_contents_stay_inside_the_root() {
    // Outside the root: a GRUB environment naming a kernel the root does not have, and a module.
    let outside = tree(&[
        ("/grubenv", "saved_entry=6.6.6-evil\n"),
        ("/evil/updates/dkms/nvidia.ko", ""),
        ("/evil.conf", "version 6.6.6-evil\n"),
    ]);
    let o = outside.path().display().to_string();
    let d = distro("rhel-9");
    let grubenv = d.path().join("boot/grub2/grubenv");
    std::fs::remove_file(&grubenv).expect("rm");
    // An absolute link (resolved at the root, as chroot would) and a `..` climb out of the root.
    std::os::unix::fs::symlink(format!("{o}/grubenv"), &grubenv).expect("ln");
    let depth = d.path().components().count();
    let climb = "../".repeat(depth + 2);
    std::os::unix::fs::symlink(
        format!("{climb}{}/evil", o.trim_start_matches('/')),
        d.path().join("usr/lib/modules/5.14.0-503.11.1.el9_5.x86_64/extra"),
    )
    .expect("ln");
    let r = doctor_at(d.path());
    let c = check(&r, "next-boot");
    // The outside grubenv is not read: GRUB_DEFAULT=saved with no saved_entry means the newest kernel…
    assert!(
        c.reason.contains("5.14.0-503.11.1.el9_5.x86_64 (GRUB_DEFAULT=saved in /etc/default/grub with no saved_entry"),
        "{c:?}"
    );
    // …and the module outside the root does not count for it.
    assert_eq!(c.status, CheckStatus::Finding, "{c:?}");
    // A saved_entry that climbs out of /boot/loader/entries (to the outside evil.conf) stays inside.
    std::fs::remove_file(&grubenv).expect("rm");
    std::fs::write(&grubenv, format!("saved_entry=../../../../../../../../..{o}/evil\n")).expect("write");
    let c = check(&doctor_at(d.path()), "next-boot").clone();
    assert!(c.reason.starts_with("next boot: kernel 5.14.0-503.11.1.el9_5.x86_64 (the first menu entry"), "{c:?}");
    assert!(c.reason.contains("which is no installed kernel"), "{c:?}");
}

// ---------------------------------------------------------------------------------------------
// Health NVML shows and nobody judges (GG005), through the NVML stand-in.

fn warnings(f: &[gpuguard::Finding]) -> Vec<&str> {
    f.iter().filter(|f| f.severity == Severity::Warning).map(|f| f.message.as_str()).collect()
}

#[test]
fn nvml_healthy_links_memory_and_clocks_are_quiet_and_an_idle_link_is_not_judged() {
    let Some((_dir, lib)) = fake_nvml("healthy") else { return };
    let (c, f, facts) = nvml::check(lib.as_os_str(), None);
    assert!(f.is_empty(), "{f:?}");
    let g = &facts.expect("facts").gpus[0];
    assert_eq!(
        (g.pcie_gen_current, g.pcie_gen_max, g.pcie_width_current, g.pcie_width_max),
        (Some(5), Some(5), Some(16), Some(16))
    );
    assert_eq!(
        (g.utilization_gpu_percent, g.memory_used_bytes, g.memory_total_bytes),
        (Some(87), Some(10 << 30), Some(80 << 30))
    );
    // The power cap under load is normal, not an alarm.
    assert_eq!(g.throttle_reasons, Some(0x4));
    assert!(
        c.reason.contains(
            "GPU 1: PCIe Gen1 x16 of Gen4 x16 at 0% load, not judged (links are judged only at 50% load or more"
        ),
        "{}",
        c.reason
    );
}

#[test]
fn nvml_pcie_link_trained_down_under_load_warns_with_the_bandwidth_share() {
    let Some((_dir, lib)) = fake_nvml("pcie") else { return };
    let (c, f, _) = nvml::check(lib.as_os_str(), None);
    assert_eq!(c.status, CheckStatus::Finding);
    let w = warnings(&f);
    assert_eq!(w.len(), 2, "{f:?}");
    assert!(w[0].starts_with("GPU 0 (NVIDIA H100 80GB HBM3, 00000000:3B:00.0): PCIe link at Gen2 x16, below the Gen5 x16 it supports, while 97% busy: host-GPU copies get 16% of the bandwidth"), "{w:?}");
    assert!(
        w[1].starts_with("GPU 1 (NVIDIA H100 80GB HBM3, 00000000:5E:00.0): PCIe link at Gen5 x8")
            && w[1].contains("91% busy")
            && w[1].contains("50% of the bandwidth"),
        "{w:?}"
    );
    assert!(f.iter().all(|f| f.rule == "GG005"));
    assert_eq!(f[0].evidence["pcie_gen_current"], 2);
}

#[test]
fn nvml_memory_held_by_no_process_is_orphaned_with_the_amount() {
    let Some((_dir, lib)) = fake_nvml("orphan") else { return };
    let (_, f, _) = nvml::check(lib.as_os_str(), None);
    let w = warnings(&f);
    assert_eq!(w.len(), 1, "{f:?}");
    assert!(
        w[0].contains("GPU 0")
            && w[0].contains("38.0 GiB of GPU memory in use with no process holding it (of 80.0 GiB)"),
        "{w:?}"
    );
    assert_eq!(f[0].evidence["memory_used_bytes"], 38u64 << 30);
    assert!(
        f[0].fix.contains("fuser -v /dev/nvidia0") && f[0].fix.contains("nvidia-smi --gpu-reset -i 0"),
        "{}",
        f[0].fix
    );
    // In a container NVML lists no process of another PID namespace: not judged, and said so.
    let ctx = nvml::NvmlContext { in_container: true, ..Default::default() };
    let (c, f, _) = nvml::check_in(lib.as_os_str(), None, &ctx);
    assert!(f.is_empty(), "{f:?}");
    assert!(
        c.reason.contains("GPU 0: 38.0 GiB in use and no process visible from this container, not judged"),
        "{}",
        c.reason
    );
}

#[test]
fn nvml_hardware_throttling_that_lasts_warns_and_a_single_pulse_does_not() {
    let Some((_dir, lib)) = fake_nvml("throttle") else { return };
    let (_, f, _) = nvml::check(lib.as_os_str(), None);
    let w = warnings(&f);
    assert_eq!(w.len(), 1, "{f:?}");
    assert!(
        w[0].contains("clocks throttled by hardware slowdown, hardware thermal slowdown (in two samples 500 ms apart)"),
        "{w:?}"
    );
    assert_eq!(f[0].evidence["throttle_reasons"], 0x4 | 0x8 | 0x40);

    let Some((_dir2, blip)) = fake_nvml("throttle_blip") else { return };
    let (c, f, facts) = nvml::check(blip.as_os_str(), None);
    assert!(f.is_empty() && c.status == CheckStatus::Ok, "one power-brake sample is debounced away: {f:?}");
    // The power cap is in both samples; the brake pulse only in the first.
    assert_eq!(facts.expect("facts").gpus[0].throttle_reasons, Some(0x4));
}

#[test]
fn nvml_version_mismatch_names_the_library_and_the_module_versions() {
    let Some((dir, stub)) = fake_nvml("mismatch") else { return };
    // The driver installs libnvidia-ml.so.<version>; libnvidia-ml.so.1 links to it.
    let versioned = dir.path().join("libnvidia-ml.so.550.90.07");
    std::fs::rename(&stub, &versioned).expect("rename");
    let link = dir.path().join("libnvidia-ml.so.1");
    std::os::unix::fs::symlink("libnvidia-ml.so.550.90.07", &link).expect("ln");
    let d = tree(&[("/sys/module/nvidia/version", "535.183.01\n")]);
    let r = run(d.path(), &[], DoctorOptions { nvml_library: Some(link), ..Default::default() });
    let f = r.findings.iter().find(|f| f.rule == "GG010").expect("GG010");
    assert!(
        f.message.starts_with("Driver/library version mismatch: NVML library 550.90.07 (")
            && f.message.ends_with("libnvidia-ml.so.550.90.07) but kernel module 535.183.01 is loaded"),
        "{}",
        f.message
    );
    assert_eq!(
        (f.evidence["library_version"].as_str(), f.evidence["module_version"].as_str()),
        (Some("550.90.07"), Some("535.183.01"))
    );
}

/// The new-user trial: a CUDA image run without `--gpus` (no /dev/nvidiaN) while its environment
/// asks for GPUs was `gpu-devices ok` and `gpu-env ok (2 usable)`.
#[test]
fn environment_asking_for_gpus_without_device_nodes_is_gg008() {
    let root = pod();
    let env = [("NVIDIA_VISIBLE_DEVICES", "all"), ("CUDA_VISIBLE_DEVICES", "0,1")];
    let r = run(root.path(), &env, DoctorOptions::default());
    let f = rules(&r, "GG008");
    assert_eq!(f.len(), 1, "one cause, one finding: {f:?}");
    assert_eq!(f[0].0, Severity::Error);
    for want in ["NVIDIA_VISIBLE_DEVICES=all", "CUDA_VISIBLE_DEVICES=0,1", "/dev/nvidia[0-9]*"] {
        assert!(f[0].1.contains(want), "{want} not in {:?}", f[0].1);
    }
    let fix = &r.findings.iter().find(|f| f.rule == "GG008").expect("GG008").fix;
    for want in ["--gpus all", "--runtime=nvidia", "nvidia.com/gpu", "runtimeClassName"] {
        assert!(fix.contains(want), "{want} not in {fix:?}");
    }
    assert_eq!(check(&r, "gpu-devices").status, CheckStatus::Finding);
    let env_check = check(&r, "gpu-env");
    assert!(env_check.reason.contains("0 usable"), "{env_check:?}");
    // Each variable alone asks too; `void`/`none`/`-1` do not ask (and `void` keeps its own finding).
    for env in [[("NVIDIA_VISIBLE_DEVICES", "GPU-8a3c")], [("CUDA_VISIBLE_DEVICES", "0")]] {
        let r = run(root.path(), &env, DoctorOptions::default());
        assert_eq!(check(&r, "gpu-devices").status, CheckStatus::Finding, "{env:?}");
    }
    for env in [[("NVIDIA_VISIBLE_DEVICES", "void")], [("CUDA_VISIBLE_DEVICES", "-1")], [("HOME", "/root")]] {
        let r = run(root.path(), &env, DoctorOptions::default());
        assert_eq!(check(&r, "gpu-devices").status, CheckStatus::Ok, "{env:?}");
    }
    // Device nodes present: the request is met, nothing to say.
    let root = tree(&[("/dev/nvidia0", ""), ("/dev/nvidia1", ""), ("/dev/nvidiactl", ""), ("/dev/nvidia-uvm", "")]);
    let r = run(root.path(), &env, DoctorOptions::default());
    assert!(rules(&r, "GG008").is_empty(), "{:?}", r.findings);
    // Under --root with this process's own environment, the variables are not the tree's.
    let r = doctor(&Host::new(root.path()), &DoctorOptions::default());
    assert_eq!(check(&r, "gpu-env").status, CheckStatus::Skipped);
}

/// The new-user trial: `--checkpoint-dir /nonexistent/ckpt` and `HF_HUB_CACHE=/nonexistent/hub`
/// were `ok … / (ext4)` with no word that the directory is missing.
#[test]
fn a_directory_that_does_not_exist_is_named_with_the_parent_that_was_judged() {
    let d = pod();
    let opts = DoctorOptions { checkpoint_dir: Some("/mnt/ckpt/nonexistent/ckpt".into()), ..Default::default() };
    let r = run(d.path(), &[("HOME", "/root"), ("HF_HUB_CACHE", "/nonexistent/hub")], opts);
    let f = rules(&r, "GG003");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, Severity::Info);
    assert!(
        f[0].1.contains("/mnt/ckpt/nonexistent/ckpt does not exist") && f[0].1.contains("parent /mnt/ckpt"),
        "{f:?}"
    );
    let c = check(&r, "checkpoint-dir");
    assert!(
        c.reason.starts_with("/mnt/ckpt/nonexistent/ckpt does not exist; nearest existing parent /mnt/ckpt: "),
        "{c:?}"
    );
    // On an ephemeral filesystem the error itself says the directory is missing (one finding).
    let f = rules(&r, "GG006");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, Severity::Warning);
    assert!(f[0].1.contains("/nonexistent/hub does not exist") && f[0].1.contains("parent /"), "{f:?}");
}
