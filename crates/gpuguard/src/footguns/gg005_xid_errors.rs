//! GG005 xid-errors: the footgun's documentation ([`FOOTGUN`]). Its checks are not manifest
//! checks: they live with the probes and parsers that see it at run time.

use super::{Footgun, RuleId};
use crate::Severity;

/// The footgun's documentation, as `gpuguard explain` prints it.
pub(crate) const FOOTGUN: Footgun = Footgun {
    id: RuleId::GG005.as_str(),
    slug: "xid-errors",
    title: "GPU hardware errors (XID, ECC) that nobody reads",
    what: "The kernel log has said \"NVRM: Xid 48\" (double-bit ECC error) for a week while the job \
           kept training on corrupted values, or the GPU fell off the bus (XID 79) and the job hangs.",
    why: "The NVIDIA driver reports GPU faults as XID events in the kernel log only. Some are \
          application bugs (13, 31: an illegal memory access), some are hardware failures \
          (48 double-bit ECC, 63/64 row remapping, 79 fallen off the bus, 94/95 contained and \
          uncontained ECC errors) that need a reset or a replacement. A rising rate of corrected \
          (single-bit) ECC errors precedes uncorrectable ones. NVML shows more that nobody \
          judges: a PCIe link trained down to a lower generation or width (judged only at 50% \
          load or more, since idle GPUs lower the link to save power), GPU memory held by no \
          process after a killed job (not judged inside a container, which cannot see other \
          processes), and clocks throttled by hardware slowdown, thermal limits or the power \
          brake (reported only when present in two samples 500 ms apart).",
    fix: "Scan kernel logs (`gpuguard xid`), alert on the hardware classes, drain the node and \
          reset or replace the GPU as the XID's action says; watch corrected-ECC rates and \
          remapped-row failures, not only totals.",
    example: "[ 4321.123456] NVRM: Xid (PCI:0000:3b:00): 48, pid=2210, name=python, An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at partition 0, subpartition 1.",
    caught_by: &[
        "kernel log scan",
        "NVML ECC counters",
        "nvidia-smi -q parsing",
        "NVML link, memory and throttle state",
    ],
    default_severity: Severity::Error,
};
