//! The doctor against fixture trees written in the real file formats, and the real NVML code
//! path through a scripted stand-in library (tests/nvml_stub/fake_nvml.c) built with the system
//! C compiler.

use gpuguard::doctor::{DoctorOptions, doctor};
use gpuguard::probe::{Host, nvml};
use gpuguard::{CheckStatus, Report, Severity};
use std::path::Path;

mod common;
use common::fake_nvml;

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
