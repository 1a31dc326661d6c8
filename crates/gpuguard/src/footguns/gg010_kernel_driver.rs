//! GG010 kernel-driver: the footgun's documentation ([`FOOTGUN`]). Its checks are not manifest
//! checks: they live with the probes and parsers that see it at run time.

use super::{Footgun, RuleId};
use crate::Severity;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG010.as_str(),
    slug: "kernel-driver",
    title: "A kernel update that broke the NVIDIA driver",
    what: "After an unattended kernel upgrade and reboot, nvidia-smi says \"NVIDIA-SMI has failed \
           because it couldn't communicate with the NVIDIA driver\" or \"Failed to initialize \
           NVML: Driver/library version mismatch\", and every GPU on the node is gone.",
    why: "The NVIDIA kernel module is built for one kernel. When the kernel changes, DKMS must \
          rebuild it; if the headers are missing or the build fails (see \
          /var/lib/dkms/nvidia/<version>/build/make.log) the new kernel boots without it. A \
          driver package upgrade without a reboot leaves the old module loaded under a newer \
          user-space library, and NVML refuses to talk to it. Automatic security patching \
          (unattended-upgrades on Debian and Ubuntu, dnf-automatic or yum-cron on RHEL) installs \
          kernels and drivers from the security stream with nobody watching, so the break shows \
          only at the next reboot. `gpuguard doctor` looks ahead: it finds the kernel the boot \
          loader starts next (GRUB's next_entry, saved_entry or GRUB_DEFAULT, BLS entries, \
          systemd-boot's default, else the newest installed kernel) and reports an error when \
          that kernel has no NVIDIA module (DKMS, linux-modules-nvidia-*, kmod-nvidia), naming \
          both kernels and the make.log to read; and it warns when automatic updates can install \
          a kernel or driver that is neither held, blacklisted, pinned nor version-locked.",
    fix: "Pin the kernel (apt-mark hold linux-image-*) on GPU nodes or upgrade kernel and driver \
          together; install the headers for the running kernel and rebuild with `dkms autoinstall`; \
          reboot after a driver upgrade; check with `gpuguard doctor` before returning the node \
          to service. On Debian and Ubuntu hold the kernel meta package (`apt-mark hold \
          linux-image-generic`) or add \"linux-\" to Unattended-Upgrade::Package-Blacklist; on RHEL \
          `dnf versionlock add kernel kernel-core` or disable dnf-automatic-install.timer.",
    example: "NVRM: API mismatch: the client has the version 550.90.07, but this kernel module has the version 535.183.01.",
    caught_by: &[
        "runtime probe (kernel vs module, DKMS, NVML version)",
        "next-boot check (the boot loader's next kernel vs its NVIDIA module and make.log)",
        "auto-updates check (unattended-upgrades, dnf-automatic, yum-cron vs holds, pins, versionlock)",
    ],
    default_severity: Severity::Error,
};
